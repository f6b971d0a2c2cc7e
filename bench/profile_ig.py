"""Where the time of the ig_all_layers case goes (not part of `make bench`; findings are in BENCHMARKS.md).

  python bench/profile_ig.py [--part split|ops|chunks|all] [--repeats 2]

split   per layer: naive (LIG on the full model) vs ours (IG on the tail), and the naive's prefix (CNN + blocks < l)
ops     torch.profiler operator table of ours at layer 0 (12-block tail) and of the naive at layer 6
chunks  ours over all layers with captum's internal_batch_size None (all 16 steps x 4 clips at once) vs 32 / 16 rows per pass
Writes bench/_out/profile_ig.json (git-ignored) and prints the tables.
"""
from __future__ import annotations
import argparse, gc, statistics, sys, time, warnings
from pathlib import Path

import torch
from torch.profiler import profile, ProfilerActivity

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import base_model, clips, log, loadavg, write_json  # noqa: E402
import ig  # noqa: E402
from neuron_ablation.model import SpeechTransformer  # noqa: E402
from neuron_ablation.gradients import _ig_frames, integrated_gradients  # noqa: E402


def _t(fn):
    gc.collect(); t0 = time.perf_counter(); fn(); return time.perf_counter() - t0


def split(st, x, cache, repeats):
    "Per-layer seconds: naive LIG, ours (IG on the tail), and a no-grad full forward of the 64 interpolated rows (naive's floor)."
    zeros = torch.zeros_like(cache.hidden[0]); rows = torch.cat([x] * ig.N_STEPS); out = {}
    with torch.no_grad(): _t(lambda: st.model(rows))
    for l in st.layers('hidden'):
        n, o = [], []
        for r in range(repeats):
            for name in (('naive', 'ours') if r % 2 == 0 else ('ours', 'naive')):
                if name == 'naive': n.append(_t(lambda: ig.lig_layer(st, x, l, zeros)))
                else: o.append(_t(lambda: _ig_frames(st, cache, l, 'hidden', ig.TARGET, zeros, ig.N_STEPS, ig.METHOD)))
        out[l] = dict(naive=statistics.median(n), ours=statistics.median(o))
        log(f"  layer {l:2d}: naive {out[l]['naive']:6.2f} s  ours {out[l]['ours']:6.2f} s  (load {loadavg()})")
    with torch.no_grad(): full = statistics.median(_t(lambda: st.model(rows)) for _ in range(repeats))
    with torch.no_grad(): tail = statistics.median(_t(lambda: st.run_from(0, torch.cat([cache.hidden[0]] * ig.N_STEPS), cache)) for _ in range(repeats))
    return dict(per_layer=out, full_forward_64_rows=full, blocks_forward_64_rows=tail, cnn_and_pos_conv_64_rows=full - tail)


def ops(st, x, cache):
    "Top operators (self CPU time) of ours at layer 0 and of the naive at layer 6."
    zeros = torch.zeros_like(cache.hidden[0]); tables = {}
    for name, fn in (('ours_layer0', lambda: _ig_frames(st, cache, 0, 'hidden', ig.TARGET, zeros, ig.N_STEPS, ig.METHOD)),
                     ('naive_layer6', lambda: ig.lig_layer(st, x, 6, zeros))):
        fn()
        with profile(activities=[ProfilerActivity.CPU]) as prof: fn()
        ka = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
        total = sum(e.self_cpu_time_total for e in ka)
        tables[name] = [dict(op=e.key, self_s=e.self_cpu_time_total / 1e6, share=e.self_cpu_time_total / total, calls=e.count)
                        for e in ka[:15]]
        log(f"  {name}: total self CPU {total/1e6:.2f} s")
        for r in tables[name][:12]: log(f"    {r['op'][:48]:48s} {r['self_s']:7.2f} s {100*r['share']:5.1f} %  x{r['calls']}")
    return tables


def chunks(st, x, repeats):
    "All-layer `integrated_gradients` with internal_batch_size None / 32 / 16, interleaved."
    y = torch.full((len(x),), ig.TARGET); res = {k: [] for k in ('None', '32', '16')}
    def call(ibs):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            integrated_gradients(st, x, y, ig.TARGET, n_steps=ig.N_STEPS, batch_size=len(x), clips='all', progress=False,
                                 internal_batch_size=None if ibs == 'None' else int(ibs))
    for r in range(repeats):
        for k in (list(res) if r % 2 == 0 else list(res)[::-1]):
            res[k].append(_t(lambda: call(k)))
        log(f"  chunks repeat {r+1}: " + ', '.join(f"ibs {k}: {v[-1]:.1f} s" for k, v in res.items()) + f" (load {loadavg()})")
    return {k: dict(times=v, median=statistics.median(v)) for k, v in res.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--part', default='all', choices=('split', 'ops', 'chunks', 'all'))
    ap.add_argument('--repeats', type=int, default=2)
    a = ap.parse_args()
    st = SpeechTransformer(base_model()); x = clips(ig.N_CLIPS, ig.SECONDS); cache = st.capture(x)
    out = {}
    if a.part in ('split', 'all'): log('split'); out['split'] = split(st, x, cache, a.repeats)
    if a.part in ('ops', 'all'): log('ops'); out['ops'] = ops(st, x, cache)
    if a.part in ('chunks', 'all'): log('chunks'); out['chunks'] = chunks(st, x, a.repeats)
    path = HERE / '_out' / f'profile_ig_{a.part}.json'; write_json(path, out); print(f"wrote {path}")


if __name__ == '__main__':
    main()
