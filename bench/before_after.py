"""Ours before vs ours after a change: the same path-method call timed on two checkouts of the package, alternately,
each call in a fresh process (`python bench/before_after.py BEFORE_DIR [AFTER_DIR] --method conductance`).

A checkout is a folder holding `neuron_ablation/` (e.g. `git worktree add /tmp/before <commit>`). The workload is
`ig_converged`'s and `conductance_converged`'s: the random-weight WavLM-base classifier, 2 clips of 1 s, every hidden
layer, adaptive steps to 1 % completeness at the defaults of each checkout. Prints one line per call and the medians;
not part of `make bench` (it needs a second checkout).
"""
from __future__ import annotations
import argparse, json, statistics, subprocess, sys
from pathlib import Path

CHILD = r'''
import json, sys, time, warnings, torch
root, method = sys.argv[1], sys.argv[2]
sys.path.insert(0, root + '/bench'); sys.path.insert(0, root)
from common import base_model, clips
import neuron_ablation.gradients as G
from neuron_ablation.model import SpeechTransformer
st = SpeechTransformer(base_model()); x = clips(2, 1.0); y = torch.zeros(2, dtype=torch.long)
fn = G.conductance if method == 'conductance' else G.integrated_gradients
kw = dict(n_steps=None, tolerance=0.01, max_steps=256, batch_size=2, clips='all', on_unconverged='warn', progress=False)
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    fn(st, x, y, 0, layers=[st.n_layers], **kw)   # warm-up
    t = time.perf_counter(); s = fn(st, x, y, 0, **kw); dt = time.perf_counter() - t
print(json.dumps(dict(file=G.__file__, seconds=dt, steps=s.meta['steps_per_layer'], rule=s.meta.get('rule'),
                      method=s.meta['approximation_method'], max_rel=max(s.meta['convergence_delta']['max_rel']),
                      min_jaccard=min(s.meta['topk_jaccard']))))
'''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('before', type=Path, help='checkout of the package before the change')
    ap.add_argument('after', type=Path, nargs='?', default=Path(__file__).resolve().parents[1], help='checkout after (default: this one)')
    ap.add_argument('--method', choices=('conductance', 'integrated_gradients'), default='conductance')
    ap.add_argument('--repeats', type=int, default=3)
    a = ap.parse_args(argv)
    out = {'before': [], 'after': []}
    for r in range(a.repeats):
        for side in (('before', 'after') if r % 2 == 0 else ('after', 'before')):
            p = subprocess.run([sys.executable, '-c', CHILD, str(getattr(a, side).resolve()), a.method], capture_output=True, text=True)
            if p.returncode: sys.exit(f"{side} failed:\n{p.stderr[-2000:]}")
            rec = json.loads(p.stdout.strip().splitlines()[-1]); out[side].append(rec)
            print(side, json.dumps(rec), flush=True)
    med = {k: statistics.median(r['seconds'] for r in v) for k, v in out.items()}
    print(f"{a.method}: before {med['before']:.2f} s, after {med['after']:.2f} s, before / after {med['before'] / med['after']:.2f}x "
          f"(medians of {a.repeats})")


if __name__ == '__main__':
    main()
