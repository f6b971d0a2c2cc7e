"""The CUDA check of every public step: each runs on a tiny model on the CPU and on CUDA (float32, then bfloat16), and its numbers are compared.

Run where a GPU is: `python bench/cuda_stages.py --out stages.json`. A stage that raises is recorded with its traceback
(every stage runs, so one call shows every failure); a stage that runs is compared with the CPU result (the worst
relative difference of its numbers; float32 on a GPU differs by rounding, TF32 convolutions included). Without a GPU it
runs the CPU side only (`--device cpu`), which checks the script.
"""
from __future__ import annotations
import argparse, copy, json, sys, tempfile, traceback, warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import numpy as np, torch
from neuron_ablation.testing import tiny_model, sine_batch
from neuron_ablation.core import NeuronAblator, AblationConfig
from neuron_ablation.model import SpeechTransformer
from neuron_ablation.attribution import METHODS
from neuron_ablation.edits import fit_stats
from neuron_ablation.feature_extractor import feature_analysis, speaker_similarity, neuron_feature_correlation
from neuron_ablation.effects import upstream_norm, temporal_spread
from neuron_ablation.steering import steering_sweep, compare_selectors
from neuron_ablation.visualization import ResultsVisualizer

warnings.filterwarnings('ignore')


def numbers(o):
    "Every number in `o` (tensors, arrays, dataframes, dicts, dataclass-likes) as one float64 vector."
    import pandas as pd
    if isinstance(o, torch.Tensor): return o.detach().double().cpu().flatten().numpy()
    if isinstance(o, np.ndarray): return o.astype(float).flatten() if o.dtype.kind in 'fiub' else np.zeros(0)
    if isinstance(o, pd.DataFrame): return np.concatenate([numbers(o[c].to_numpy()) for c in o.columns if pd.api.types.is_numeric_dtype(o[c])] or [np.zeros(0)])
    if isinstance(o, dict): return np.concatenate([numbers(v) for k, v in sorted(o.items(), key=lambda kv: str(kv[0]))] or [np.zeros(0)])
    if isinstance(o, (list, tuple)): return np.concatenate([numbers(v) for v in o] or [np.zeros(0)])
    if isinstance(o, (int, float, np.floating)) and not isinstance(o, bool): return np.array([float(o)])
    for attr in ('table', 'scores', 'stats', 'mean'):
        if hasattr(o, attr): return numbers(getattr(o, attr))
    return np.zeros(0)


def rel(a, b):
    a, b = numbers(a), numbers(b)
    if a.shape != b.shape: return float('inf')
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any(): return 0.
    return float(np.max(np.abs(a[ok] - b[ok]) / np.maximum(np.abs(a[ok]), 1e-3 * max(np.abs(a[ok]).max(), 1e-12))))


def stages(device, dtype):
    "{name: fn() -> result} for one device and dtype, each building its own tiny model."
    x = sine_batch(6, 0.5, seed=1); m = torch.ones(6, x.shape[1], dtype=torch.long); m[3:, 6000:] = 0; y = torch.tensor([0, 1, 2, 0, 1, 0])
    def abl(arch='wavlm', **kw):
        st = SpeechTransformer(tiny_model(arch, seed=0)); return NeuronAblator(st, tempfile.mkdtemp(), device=device, dtype=dtype, batch_size=4, n_random=3, **kw)
    def f(a): return a.follow(x), a.follow(m)
    out = {}
    for name in METHODS:
        kw = dict(n_steps=8) if name in ('integrated_gradients', 'conductance') else {}
        out[f'method:{name}'] = lambda name=name, kw=kw: (lambda a: METHODS[name](a.st, *f(a)[:1], y, 0, a.layers, 'hidden', attention_mask=f(a)[1],
                                                                                  batch_size=4, progress=False, **kw))(abl())
    out['fit_stats'] = lambda: (lambda a: fit_stats(a.st, f(a)[0], f(a)[1], y, 'hidden', a.layers, 4, 3, progress=False))(abl())
    out['feature_analysis'] = lambda: (lambda a: feature_analysis(a.st, *f(a), batch_size=4, progress=False)[1])(abl())
    out['neuron_feature_correlation'] = lambda: (lambda a: neuron_feature_correlation(a.st, *f(a), batch_size=4, progress=False))(abl())
    out['speaker_similarity'] = lambda: (lambda a: speaker_similarity(a.st, f(a)[0], {2: [0, 1, 2]}, attention_mask=f(a)[1], progress=False))(abl())
    def up():
        a = abl(); c = a.st.capture(*f(a), 'hidden')
        return dict(up=upstream_norm(a.st, c, 2, [0, 1, 2], steps=5), spread=temporal_spread(a.st, c, 2, [0, 1, 2]).to_frame())
    out['upstream_norm+temporal_spread'] = up
    for mode in ('zero', 'mean', 'noise', 'invert'):
        cfg = AblationConfig(topk=4, ablate_mode=mode, attribution_method='integrated_gradients', method_kw=dict(n_steps=8),
                             features=('rms', 'f0') if mode == 'zero' else None, correlations=mode == 'zero', plots=mode == 'zero',
                             n_boot=50, upstream_steps=5)
        out[f'run:{mode}'] = lambda cfg=cfg: (lambda a: a.run(x, y, cfg, attention_mask=m, eval_inputs=x, eval_labels=y, eval_attention_mask=m, progress=False).table)(abl())
    out['run:whisper'] = lambda: (lambda a: a.run(x, y, AblationConfig(topk=4, attribution_method='gradient', n_boot=50, upstream_steps=5),
                                                   attention_mask=m, progress=False).table)(abl('whisper'))
    out['steering_sweep'] = lambda: (lambda a: steering_sweep(a, x, y, 0, [0., 2.], method='gradient', topk=4, attention_mask=m, progress=False).table)(abl())
    out['compare_selectors'] = lambda: (lambda a: compare_selectors(a, x, y, 0, ['gradient', 'activation'], topk=4, attention_mask=m, progress=False).effects)(abl())
    def dash():
        a = abl(); res = a.run(x, y, AblationConfig(topk=4, attribution_method='gradient', n_boot=20, upstream=False), attention_mask=m, progress=False, save=False)
        v = ResultsVisualizer(a); return len(v.render(res, progress=False)[1])
    out['figures'] = dash
    return out


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out', default='stages.json'); ap.add_argument('--device', default='cuda'); ap.add_argument('--only', default=None)
    a = ap.parse_args()
    runs = [('cpu', None)] + ([] if a.device == 'cpu' else [(a.device, None), (a.device, 'bfloat16')])
    ref, rows = {}, []
    names = list(stages('cpu', None))
    for name in names:
        if a.only and a.only not in name: continue
        for dev, dt in runs:
            torch.manual_seed(0)
            try:
                r = stages(dev, dt)[name](); err = None
            except Exception as e:
                r, err = None, ''.join(traceback.format_exception(e))[-2500:]
            if dev == 'cpu': ref[name] = r
            d = None if err or dev == 'cpu' or ref.get(name) is None else rel(ref[name], r)
            row = dict(stage=name, device=dev, dtype=dt or 'float32', ok=err is None, max_rel_vs_cpu=d, error=err)
            rows.append(row); print(json.dumps({k: v for k, v in row.items() if k != 'error'}) + ('' if err is None else '\n' + err[-800:]), flush=True)
    Path(a.out).write_text(json.dumps(rows, indent=1, default=str))
    bad = [r for r in rows if not r['ok']]
    print(f"{len(rows) - len(bad)}/{len(rows)} stage runs ok")
