"""Case `scaling`: the main job (`python -m neuron_ablation.example` on the demo) on 1 vs 2 ranks of torchrun, one thread per rank.

Each size runs as `torchrun --standalone --nproc_per_node N bench/scaling.py --child ...`: every rank imports what the
job imports (torch, transformers, librosa: start-up, about 6 s per process), waits at a barrier, and runs the whole job
(`example.run_job`: loading the demo model and corpus, scoring with split-half stability, features and correlations,
the ablation sweep, statistics, upstream norm, figures, saving); rank 0 prints its wall time. The wall time of the whole
torchrun command (start-up included) is recorded beside it (`whole_command_seconds`). naive = 1 rank, ours = 2 ranks, ratio = the speed-up; parallel efficiency = speed-up / 2 (target >= 0.85).
The two results folders must agree (neurons identical, every number within 1e-6 relative): `max_rel_diff`.

The job is the demo's default, unchanged (`python -m neuron_ablation.example`: 128 held-out and 64 scoring clips in
batches of 16, `--n_random 20`, integrated gradients, features, correlations, plots); about 4 min on 1 rank and 2.2 on
2 on the 2-core bench machine when quiet. `--half` runs the half-size job of earlier runs (64 + 32 clips in batches of 4).
`--quick` runs a small job (16 + 16 clips, 3 random draws) once; its efficiency is not the figure (fixed costs dominate).
"""
from __future__ import annotations
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, log, loadavg  # noqa: E402

# The main job: the demo's default (`python -m neuron_ablation.example`, 128 held-out and 64 scoring clips in batches of 16).
FULL = []
# Half of it in batches of 4 (64 held-out and 32 scoring clips): the figure of earlier runs, kept to compare with them.
HALF = ['--max_samples', '64', '--n_score', '32', '--batch_size', '4']
QUICK = ['--max_samples', '16', '--n_score', '16', '--n_random', '3', '--topk', '8', '--batch_size', '4']
TARGET = 0.85


def child(save_dir:str, job:list):
    "One rank: the whole CLI job timed from a barrier after loading torch; rank 0 prints {'seconds': ...}."
    import torch, torch.distributed as dist
    from neuron_ablation import example
    from neuron_ablation.distributed import launched, is_main
    # start-up, before the clock: the modules the job imports on first use (transformers' WavLM; librosa's pitch and
    # feature modules with scipy.signal and numba's caches), about 6 s per process that no number of ranks can split
    import neuron_ablation.demo, neuron_ablation.data, neuron_ablation.corpora, librosa.core.pitch, librosa.feature  # noqa: F401
    example._keep_heap()   # as the command line does
    with launched('cpu'):
        args = example.build_parser().parse_args([*job, '--save_dir', save_dir])
        if dist.is_initialized(): dist.barrier()
        t0 = time.perf_counter(); example.run_job(args); dt = time.perf_counter() - t0
        if dist.is_initialized(): dist.barrier()
        if is_main(): print(json.dumps(dict(seconds=dt, threads=torch.get_num_threads())), flush=True)


def launch(n:int, save_dir:Path, job:list):
    "(wall seconds of the job on `n` ranks (one thread each) measured by rank 0, wall seconds of the whole torchrun command)."
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH', '')) if p)}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', str(n), str(HERE / 'scaling.py'),
           '--child', str(save_dir), '--job', json.dumps(job)]
    t0 = time.perf_counter(); r = subprocess.run(cmd, capture_output=True, text=True, env=env); whole = time.perf_counter() - t0
    if r.returncode: raise RuntimeError(f"scaling: {n} rank(s) failed ({r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads([l for l in r.stdout.splitlines() if l.startswith('{"seconds"')][-1])
    if out['threads'] != 1: raise RuntimeError(f"scaling: a rank used {out['threads']} threads, not 1")
    return out['seconds'], whole


def run(repeats:int=1, quick:bool=False, half:bool=False):
    "The `scaling` record: 1 rank (naive) vs 2 ranks (ours), alternating, median of the per-repeat speed-ups."
    from neuron_ablation.results import results_diff
    import common
    job = common.SMOKE_JOB if common.SMOKE else QUICK if quick else HALF if half else FULL
    times, loads, diffs, whole = {'naive': [], 'ours': []}, [], [], {'naive': [], 'ours': []}
    with tempfile.TemporaryDirectory() as d:
        for r in range(repeats):
            for name, n in ([('naive', 1), ('ours', 2)] if r % 2 == 0 else [('ours', 2), ('naive', 1)]):
                t, w = launch(n, Path(d) / f'{name}{r}', job); times[name].append(t); whole[name].append(w); loads.append(loadavg())
            log(f"  scaling repeat {r+1}/{repeats}: 1 rank {times['naive'][-1]:.1f} s, 2 ranks {times['ours'][-1]:.1f} s, "
                f"speed-up {times['naive'][-1] / times['ours'][-1]:.2f}; whole commands {whole['naive'][-1]:.1f} s and {whole['ours'][-1]:.1f} s (load {loads[-1]})")
            diffs.append(results_diff(Path(d) / f'naive{r}', Path(d) / f'ours{r}'))
    pairs = [a / b for a, b in zip(times['naive'], times['ours'])]
    ratio = statistics.median(pairs)
    return dict(case='scaling', naive=statistics.median(times['naive']), ours=statistics.median(times['ours']), unit='s',
                ratio=ratio, ratio_of_medians=statistics.median(times['naive']) / statistics.median(times['ours']), pair_ratios=pairs,
                max_rel_diff=max(x['max_rel'] for x in diffs), tol=1e-6, target=2 * TARGET,
                detail=dict(max_abs_diff=float('nan'), parallel_efficiency=ratio / 2, ranks=2, threads_per_rank=1, job=job,
                            same_neurons=all(x['same_neurons'] for x in diffs), where=diffs[-1]['where'], load=loads,
                            times=times, whole_command_seconds=whole,   # torchrun start to exit: process start-up and imports included
                            whole_command_speedup=statistics.median(a / b for a, b in zip(whole['naive'], whole['ours']))))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--child', default=None, help='(internal) run one rank of the job, saving into this folder')
    ap.add_argument('--job', default=json.dumps(FULL), help='(internal) the job\'s CLI flags as JSON')
    ap.add_argument('--quick', action='store_true'); ap.add_argument('--repeats', type=int, default=1)
    ap.add_argument('--half', action='store_true', help='the half-size job of earlier runs (64 + 32 clips in batches of 4)')
    a = ap.parse_args()
    if a.child: child(a.child, json.loads(a.job))
    else: print(json.dumps(run(a.repeats, a.quick, a.half), indent=1))
