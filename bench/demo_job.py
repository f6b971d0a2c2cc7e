"""Case `demo_job`: `make demo`'s job (`python -m neuron_ablation.example`, the demo preset) end to end, timed per step.

Not a comparison: a slow default shows up here as a number. Each repeat runs the job in a fresh process (imports,
model load and the corpus cache read included in `total`), after one untimed warm-up job; the steps' seconds come from the run record
(`config.json` -> `run.steps_s`), and `outside the run record` is the rest of the process's wall time: interpreter start, imports, model and corpus
load, then the figures, cards and saving (which come after the record is written).
"""
from __future__ import annotations
import json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

from common import ROOT, log, loadavg


def _one(args:list):
    "One job in a fresh process -> (wall seconds, run record)."
    with tempfile.TemporaryDirectory(prefix='bench_demo_') as d:
        out = Path(d) / 'demo'
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, '-m', 'neuron_ablation.example', '--save_dir', str(out), *args],
                           cwd=ROOT, capture_output=True, text=True, env={**os.environ, 'PYTHONPATH': str(ROOT)})
        wall = time.perf_counter() - t0
        if p.returncode: raise RuntimeError(f"the demo job failed ({p.returncode}):\n{p.stderr[-2000:]}")
        return wall, json.loads((out / 'config.json').read_text())['run']


def run(repeats:int, quick:bool=False):
    "Time the demo job `repeats` times (quick: no figures, 5 draws) -> record dict."
    import common
    args = common.SMOKE_JOB if common.SMOKE else ['--plot_formats', 'none', '--n_null', '5', '--max_samples', '16'] if quick else []
    log(f"demo_job: python -m neuron_ablation.example {' '.join(args) or '(the demo preset)'}; {repeats} repeats")
    walls, steps, loads, warm = [], [], [], not (quick or common.SMOKE)
    if warm:
        # One untimed run first: the first job after an install pays for the corpus cache, numba's compile cache and
        # cold file pages (302.7 then 267.9 s in the first 2-repeat run), which are not the job's cost.
        wall, _ = _one(args); log(f"  demo_job warm-up (not timed): {wall:.1f} s (load {loadavg()})")
    for r in range(repeats):
        wall, rec = _one(args); walls.append(wall); loads.append(loadavg())
        steps.append({**rec['steps_s'], 'outside the run record': round(wall - rec['duration_s'], 3)})
        log(f"  demo_job repeat {r + 1}/{repeats}: {wall:.1f} s (load {loads[-1]})")
    med = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
    return dict(case='demo_job', unit='s', naive=None, ours=statistics.median(walls), ratio=None, memory=None, max_rel_diff=0.,
                tol=None, target=None, detail=dict(times={'ours': walls}, load=loads, steps_s=med, max_abs_diff=0.,
                                                 args=args, warm_up=warm,
                                                 what='wall time of the whole job in a fresh process, after one untimed warm-up job'))
