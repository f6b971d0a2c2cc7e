"""Case `scaling`: the main job (`python -m neuron_ablation.example` on the demo) on 1 vs 2 ranks of torchrun, one thread per rank.

Each size runs as `torchrun --standalone --nproc_per_node N bench/scaling.py --child ...`: every rank loads the demo
model and corpus, waits at a barrier, and runs the whole job (`example.run_job`: scoring with split-half stability,
features and correlations, the ablation sweep, statistics, upstream norm, figures, saving); rank 0 prints its wall
time. naive = 1 rank, ours = 2 ranks, ratio = the speed-up; parallel efficiency = speed-up / 2 (target >= 0.85).
The two results folders must agree (neurons identical, every number within 1e-6 relative): `max_rel_diff`.

The job is the demo's default (`--n_random 20`, integrated gradients, features, correlations, plots) on 64 held-out and
32 scoring clips in batches of 4; about 4 min on 1 rank and 2.5 on 2 on the 2-core bench machine when quiet.
`--quick` runs a small job (16 + 16 clips, 3 random draws) once; its efficiency is not the figure (fixed costs dominate).
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, log, loadavg  # noqa: E402

# The demo's default job on half of its held-out clips and scoring clips, in batches of 4 so that the 8 target-class
# scoring clips make 2 batches (with 16 they would be one batch, which one rank computes while the other waits).
FULL = ['--max_samples', '64', '--n_score', '32', '--batch_size', '4']
QUICK = ['--max_samples', '16', '--n_score', '16', '--n_random', '3', '--topk', '8', '--batch_size', '4']
TARGET = 0.85


def child(save_dir:str, job:list):
    "One rank: the whole CLI job timed from a barrier after loading torch; rank 0 prints {'seconds': ...}."
    import torch, torch.distributed as dist
    from neuron_ablation import example
    from neuron_ablation.distributed import launched, is_main
    with launched('cpu'):
        args = example.build_parser().parse_args([*job, '--save_dir', save_dir])
        if dist.is_initialized(): dist.barrier()
        t0 = time.perf_counter(); example.run_job(args); dt = time.perf_counter() - t0
        if dist.is_initialized(): dist.barrier()
        if is_main(): print(json.dumps(dict(seconds=dt, threads=torch.get_num_threads())), flush=True)


def launch(n:int, save_dir:Path, job:list):
    "Wall seconds of the job on `n` ranks (one thread each), measured by rank 0."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH', '')) if p)}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(n), str(HERE / 'scaling.py'),
           '--child', str(save_dir), '--job', json.dumps(job)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode: raise RuntimeError(f"scaling: {n} rank(s) failed ({r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads([l for l in r.stdout.splitlines() if l.startswith('{"seconds"')][-1])
    if out['threads'] != 1: raise RuntimeError(f"scaling: a rank used {out['threads']} threads, not 1")
    return out['seconds']


def run(repeats:int=1, quick:bool=False):
    "The `scaling` record: 1 rank (naive) vs 2 ranks (ours), alternating, median of the per-repeat speed-ups."
    from neuron_ablation.results import results_diff
    job = QUICK if quick else FULL
    times, loads, diffs = {'naive': [], 'ours': []}, [], []
    with tempfile.TemporaryDirectory() as d:
        for r in range(repeats):
            for name, n in ([('naive', 1), ('ours', 2)] if r % 2 == 0 else [('ours', 2), ('naive', 1)]):
                times[name].append(launch(n, Path(d) / f'{name}{r}', job)); loads.append(loadavg())
            log(f"  scaling repeat {r+1}/{repeats}: 1 rank {times['naive'][-1]:.1f} s, 2 ranks {times['ours'][-1]:.1f} s, "
                f"speed-up {times['naive'][-1] / times['ours'][-1]:.2f} (load {loads[-1]})")
            diffs.append(results_diff(Path(d) / f'naive{r}', Path(d) / f'ours{r}'))
    pairs = [a / b for a, b in zip(times['naive'], times['ours'])]
    ratio = statistics.median(pairs)
    return dict(case='scaling', naive=statistics.median(times['naive']), ours=statistics.median(times['ours']), unit='s',
                ratio=ratio, ratio_of_medians=statistics.median(times['naive']) / statistics.median(times['ours']), pair_ratios=pairs,
                max_rel_diff=max(x['max_rel'] for x in diffs), tol=1e-6, target=2 * TARGET,
                detail=dict(max_abs_diff=float('nan'), parallel_efficiency=ratio / 2, ranks=2, threads_per_rank=1, job=job,
                            same_neurons=all(x['same_neurons'] for x in diffs), where=diffs[-1]['where'], load=loads,
                            times=times))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--child', default=None, help='(internal) run one rank of the job, saving into this folder')
    ap.add_argument('--job', default=json.dumps(FULL), help='(internal) the job\'s CLI flags as JSON')
    ap.add_argument('--quick', action='store_true'); ap.add_argument('--repeats', type=int, default=1)
    a = ap.parse_args()
    if a.child: child(a.child, json.loads(a.job))
    else: print(json.dumps(run(a.repeats, a.quick), indent=1))
