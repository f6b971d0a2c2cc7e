"""Case `stats_memory`: peak memory of `fit_stats` streamed over N = 100 vs N = 1000 clips of the demo model, each in its own process.

Run as a script with `--child N` it is one measured process: it loads the demo model, streams N generated 2-second
clips batch by batch (an iterable of (x, mask, labels), so the input itself never scales with N) through `fit_stats`,
and prints one JSON line with its own memory figures.
"""
from __future__ import annotations
import argparse, json, os, re, resource, statistics, subprocess, sys, time, tracemalloc
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import clips, log, loadavg  # noqa: E402

N_SMALL, N_LARGE, BATCH, SECONDS, N_CLASSES = 100, 1000, 16, 2.0, 4


def batches(n:int, batch:int=BATCH, seconds:float=SECONDS):
    "Generated (x [b, 16000*seconds], None, labels [b]) batches, `n` clips in all; each batch is made when asked for."
    for i in range(0, n, batch):
        b = min(batch, n - i)
        yield clips(b, seconds, seed=i), None, (torch.arange(i, i + b) % N_CLASSES)


def _vm(key:str):
    "A /proc/self/status field in MiB (VmRSS = now, VmHWM = peak)."
    m = re.search(rf'^{key}:\s+(\d+) kB', Path('/proc/self/status').read_text(), re.M)
    return int(m.group(1)) / 1024 if m else None


def child(n:int, verify:bool=False):
    "One measured process: demo model + `fit_stats` over n streamed clips -> dict of memory figures (MiB)."
    from neuron_ablation.model import SpeechTransformer
    from neuron_ablation.edits import fit_stats
    from neuron_ablation.demo import load_demo_model
    model, _, names = load_demo_model(); st = SpeechTransformer(model)
    fit_stats(st, batches(BATCH), progress=False)            # warm-up: one batch, so lazy allocations happen before the baseline
    rss0 = _vm('VmRSS'); tracemalloc.start(); t0 = time.perf_counter()
    stats = fit_stats(st, batches(n), n_classes=N_CLASSES, progress=False)
    dt = time.perf_counter() - t0; py_peak = tracemalloc.get_traced_memory()[1] / 2**20; tracemalloc.stop()
    out = dict(n=n, rss_before_fit_mib=rss0, peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
               vm_hwm_mib=_vm('VmHWM'), python_heap_peak_mib=py_peak, fit_seconds=dt, frames=int(stats.n[0]),
               clips=int(stats.clip_n.sum()))
    if verify: out['max_rel_diff'] = _verify(st, stats, n)
    return out


@torch.no_grad()
def _verify(st, stats, n:int):
    "Streamed moments vs a direct float64 computation over all frames (holds everything in memory: never in a measured run)."
    hs = {l: [] for l in stats.layers}
    for x, _, _ in batches(n):
        c = st.capture(x)
        for l in stats.layers: hs[l].append(c.hidden[l].reshape(-1, c.hidden[l].shape[-1]).double())
    worst = 0.
    for i, l in enumerate(stats.layers):
        h = torch.cat(hs[l])
        for got, ref in ((stats.mean[i], h.mean(0)), (stats.std[i], h.std(0, correction=0)), (stats.abs_mean[i], h.abs().mean(0))):
            worst = max(worst, ((got - ref).abs().max() / ref.abs().max()).item())
    return worst


def _measure(n:int, verify:bool=False):
    "Run one child under /usr/bin/time -v (when present) -> the child's dict (+ 'time_max_rss_mib')."
    cmd = [sys.executable, str(Path(__file__).resolve()), '--child', str(n)] + (['--verify'] if verify else [])
    timer = Path('/usr/bin/time')
    if timer.exists(): cmd = [str(timer), '-v'] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0: raise RuntimeError(f"memory child N={n} failed (rc {p.returncode}):\n{p.stderr[-3000:]}")
    out = json.loads(p.stdout.strip().splitlines()[-1])
    m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', p.stderr)
    out['time_max_rss_mib'] = int(m.group(1)) / 1024 if m else None
    return out


def run(repeats:int, quick:bool=False):
    "Peak RSS of N_LARGE vs N_SMALL clips, alternating, `repeats` times each; -> record dict."
    import common
    small, large = (16, 32) if common.SMOKE else (N_SMALL // 5, N_LARGE // 5) if quick else (N_SMALL, N_LARGE)
    log(f"stats_memory: demo model, fit_stats over N={small} vs N={large} clips of {SECONDS} s, batch {BATCH}, separate processes")
    runs, loads = {small: [], large: []}, []
    for r in range(repeats):
        for n in ((large, small) if r % 2 == 0 else (small, large)): runs[n].append(_measure(n))
        loads.append(loadavg())
        log(f"  memory repeat {r+1}/{repeats}: peak RSS N={large} {runs[large][-1]['peak_rss_mib']:.1f} MiB, "
            f"N={small} {runs[small][-1]['peak_rss_mib']:.1f} MiB")
    check = _measure(small, verify=True)
    key = 'time_max_rss_mib' if runs[small][0]['time_max_rss_mib'] is not None else 'peak_rss_mib'
    med = lambda n, k=key: statistics.median(o[k] for o in runs[n])
    big, sm = med(large), med(small)
    inc = lambda n: statistics.median(o['peak_rss_mib'] - o['rss_before_fit_mib'] for o in runs[n])
    return dict(case='stats_memory', unit='MiB', naive=big, ours=sm, ratio=big / sm, max_rel_diff=check['max_rel_diff'],
                tol=1e-6, target=1.10, bound='at_most',
                detail=dict(n_large=large, n_small=small, batch=BATCH, seconds=SECONDS, measure=key, load=loads,
                            runs={str(k): v for k, v in runs.items()}, fit_increment_mib={str(large): inc(large), str(small): inc(small)},
                            python_heap_peak_mib={str(n): med(n, 'python_heap_peak_mib') for n in (large, small)},
                            fit_seconds={str(n): med(n, 'fit_seconds') for n in (large, small)},
                            compared='streamed NeuronStats (mean, std, mean |x|) of N_small clips vs a direct float64 '
                                     'computation over all their frames'))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--child', type=int, required=True, help='clips to stream through fit_stats in this process')
    ap.add_argument('--verify', action='store_true', help='also check the moments against a direct computation')
    a = ap.parse_args()
    print(json.dumps(child(a.child, a.verify)))
