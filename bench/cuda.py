"""Case `cuda`: the main job on the demo on CPU (float32) and on CUDA (float32, bfloat16, and float32 under torchrun with NCCL).

Run where a GPU is: `python bench/cuda.py --out cuda.json`. Each run is `python -m neuron_ablation.example` in its own
process (the CLI path a user takes, `--device`/`--dtype` included), timed from outside, so every figure includes loading
the model and corpus. Every CUDA results folder is compared with the CPU one by `results_diff` (same neurons; the worst
relative difference of any number), and the IG completeness error each run reports is recorded: in bfloat16 the
attributions are computed in a 7-bit-mantissa model, so their completeness is what tells a reader whether to trust them.
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

# The scaling benchmark's job (64 held-out and 32 scoring clips, integrated gradients, features, random-k controls).
JOB = ['--max_samples', '64', '--n_score', '32', '--batch_size', '4']
QUICK = ['--max_samples', '16', '--n_score', '16', '--n_random', '3', '--topk', '8', '--batch_size', '4']


def one(name:str, flags:list, save:Path, torchrun:bool=False, job:list=JOB):
    "Run the job once; dict(seconds, rc, completeness, tail)."
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH', '')) if p)}
    cmd = ([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '1', '-m', 'neuron_ablation.example']
           if torchrun else [sys.executable, '-m', 'neuron_ablation.example'])
    t0 = time.perf_counter()
    r = subprocess.run([*cmd, *job, *flags, '--save_dir', str(save)], capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    out = dict(name=name, flags=flags, torchrun=torchrun, seconds=round(dt, 1), rc=r.returncode, tail=(r.stdout + r.stderr)[-1500:])
    if r.returncode == 0:
        cfg = json.loads((save / 'config.json').read_text())
        d = cfg.get('convergence_delta') or {}
        out['completeness_max_rel'] = max(d['max_rel']) if d.get('max_rel') else None
        out['converged'] = all(cfg.get('converged') or [False])
    print(json.dumps({k: v for k, v in out.items() if k != 'tail'}), flush=True)
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='cuda.json'); ap.add_argument('--work', default='/tmp/cuda_bench')
    ap.add_argument('--quick', action='store_true', help='the small job (a check of this script, not a figure)')
    ap.add_argument('--cpu_ref', default=None, help='a results folder of the same job on a CPU (skips the CPU run here)')
    ap.add_argument('--cpu_only', action='store_true', help='only the CPU run (to check this script without a GPU)')
    a = ap.parse_args()
    job = QUICK if a.quick else JOB
    import torch
    from neuron_ablation.results import results_diff
    work = Path(a.work); work.mkdir(parents=True, exist_ok=True)
    runs = [('cpu-float32', ['--device', 'cpu'], False), ('cuda-float32', ['--device', 'cuda'], False),
            ('cuda-bfloat16', ['--device', 'cuda', '--dtype', 'bfloat16'], False),
            ('cuda-float32-torchrun-nccl', ['--device', 'cuda'], True)]
    if a.cpu_ref:   # the CPU reference made elsewhere (another machine's CPU: its own rounding)
        import shutil; shutil.copytree(a.cpu_ref, work / runs[0][0], dirs_exist_ok=True)
        res = [dict(name=runs[0][0], flags=runs[0][1], torchrun=False, seconds=None, rc=0, tail='', source=str(a.cpu_ref))]
        res += [one(n, f, work / n, t, job) for n, f, t in runs[1:]]
    else: res = [one(n, f, work / n, t, job) for n, f, t in (runs[:1] if a.cpu_only else runs)]
    for r in res[1:]:
        if r['rc'] == 0 and res[0]['rc'] == 0:
            try: r['vs_cpu'] = results_diff(work / res[0]['name'], work / r['name'])
            except Exception as e: r['vs_cpu'] = dict(error=f'{type(e).__name__}: {e}')
    facts = dict(gpu=torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, torch=torch.__version__,
                 cpus=os.cpu_count(), python=platform.python_version(), job=job, date=time.strftime('%Y-%m-%d'))
    try:
        import transformers; facts['transformers'] = transformers.__version__
    except Exception: pass
    Path(a.out).write_text(json.dumps(dict(facts=facts, runs=res), indent=1, default=str))
    for r in res: print(r['name'], r['rc'], r['seconds'], r.get('vs_cpu'), r.get('completeness_max_rel'))
