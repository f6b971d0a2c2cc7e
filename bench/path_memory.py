"""Case `path_memory`: peak RSS of conductance of every layer on one 10-s clip, at few vs many path steps (memory must not grow with steps).

Each measurement is a fresh process (`--child`): a WavLM classifier of the given size with random weights (default
`WavLMConfig()` for base: 12 blocks, D 768; large: 24 blocks, D 1024, d_ff 4096, 16 heads), one 10-s noisy sine,
`gradients.conductance` of every hidden layer at a fixed `n_steps` with the default chunking (`internal_batch_size=None`:
`path_rows` rows per pass within `PATH_MEMORY_GIB`), and its peak RSS (VmHWM). naive = the fewer steps, ours = the
more; ratio = peak(more) / peak(fewer), target <= 1.10. Two records: `path_memory_base` (16 vs 64 steps) and
`path_memory_large` (8 vs 16 steps: a WavLM-large pass on 10 s takes about 5 s per row on 2 cores).
Unchunked, one row of WavLM-large on 10 s holds about 1.2 GiB of autograd activations, so 17 rows (16 steps) would need
about 21 GiB: the job that ran this machine out of memory before chunking.
A third record, `path_memory_base_mmap`, repeats the base pair with glibc's mmap threshold fixed at 1 MiB
(`MALLOC_MMAP_THRESHOLD_=1048576`): by default glibc raises the threshold to the largest block freed (up to 32 MiB), so a
pass's 1.5-14 MiB tensors come from the heap after the first pass and the heap fragments with every further pass; what
grows with the steps is then the allocator's, not tensors kept.
"""
from __future__ import annotations
import argparse, json, os, subprocess, sys, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, log, loadavg  # noqa: E402

SECONDS, TARGET = 10.0, 1.10
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
             do_stable_layer_norm=True, feat_extract_norm='layer')
SIZES = {'base': (16, 64), 'large': (8, 16)}


def child(size:str, n_steps:int):
    "One measured process -> dict (peak MiB, seconds, rows per pass)."
    import torch
    from transformers import WavLMConfig, WavLMForSequenceClassification
    import common
    from neuron_ablation.model import SpeechTransformer
    from neuron_ablation import gradients
    torch.manual_seed(0)
    cfg = common.SMOKE_CONFIG if size == 'smoke' else LARGE if size == 'large' else {}
    st = SpeechTransformer(common.with_biases(WavLMForSequenceClassification(WavLMConfig(**cfg)).eval()))
    x = common.sine_batch(1, 0.5 if size == 'smoke' else SECONDS, seed=0)
    T = st.n_frames(x.shape[1])
    t0 = time.perf_counter()
    s = gradients.conductance(st, x, torch.tensor([0]), 0, n_steps=n_steps, progress=False, on_unconverged=None)
    dt = time.perf_counter() - t0
    peak = common.peak_mib()   # the process's peak RSS (no reset_peak: the whole process is the measurement)
    return dict(size=size, n_steps=n_steps, peak_rss_mib=peak, seconds=dt, frames=T, layers=len(s.layers),
                rows_per_pass=gradients.path_rows(st, T), row_mib=gradients.row_bytes(st, T) / 2**20,
                budget_gib=gradients.PATH_MEMORY_GIB, params_mib=sum(p.numel() for p in st.model.parameters()) * 4 / 2**20)


MMAP = {'MALLOC_MMAP_THRESHOLD_': '1048576'}   # glibc: blocks of 1 MiB and more are mmapped, the threshold fixed


def _measure(size:str, n_steps:int, env_extra:dict|None=None):
    env = {**os.environ, 'PYTHONPATH': str(ROOT), **(env_extra or {})}
    p = subprocess.run([sys.executable, str(Path(__file__).resolve()), '--child', size, '--n_steps', str(n_steps)],
                       capture_output=True, text=True, env=env)
    if p.returncode: raise RuntimeError(f"path_memory child {size} n_steps={n_steps} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run(repeats:int=1, quick:bool=False):
    "Three records (base, large, base with the mmap threshold fixed), each peak RSS at the more vs the fewer steps; one repeat (memory, not time)."
    import common
    # {record: (model size, (fewer, more) steps, extra environment)}
    specs = ({'smoke': ('smoke', (4, 16), None)} if common.SMOKE else
             {'base': ('base', SIZES['base'], None)} if quick else
             {**{k: (k, v, None) for k, v in SIZES.items()}, 'base_mmap': ('base', SIZES['base'], MMAP)})
    records = []
    for name_, (size, (few, many), extra) in specs.items():
        runs, loads = {}, []
        for name, n in (('naive', few), ('ours', many)):
            runs[name] = _measure(size, n, extra); loads.append(loadavg())
            log(f"  path_memory {name_}, {n} steps: peak RSS {runs[name]['peak_rss_mib']:.0f} MiB, {runs[name]['seconds']:.0f} s (load {loads[-1]})")
        records.append(dict(case=f'path_memory_{name_}', naive=runs['naive']['peak_rss_mib'], ours=runs['ours']['peak_rss_mib'],
                            unit='MiB', ratio=runs['ours']['peak_rss_mib'] / runs['naive']['peak_rss_mib'], max_rel_diff=0., tol=None,
                            target=TARGET, bound='at_most', repeats=1, detail=dict(max_abs_diff=0., runs=runs, load=loads, seconds=SECONDS, steps=(few, many),
                                                       env=extra or {},
                                                       what='peak RSS of conductance of every hidden layer, default chunking')))
    return records


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--child', default=None, choices=['smoke', 'base', 'large']); ap.add_argument('--n_steps', type=int, default=16)
    ap.add_argument('--quick', action='store_true')
    a = ap.parse_args()
    if a.child: print(json.dumps(child(a.child, a.n_steps)))
    else: print(json.dumps(run(1, a.quick), indent=1))
