"""FLOP counts of both sides of `ig_all_layers` and `ablation_sweep` (torch FlopCounterMode), as the two cases record them.

`python bench/flops.py` adds them to an existing bench/results.json, results.detail.json and the BENCHMARKS.md table
(counting takes a few minutes and needs no quiet machine: FLOPs do not depend on load)."""
from __future__ import annotations
import json, sys
from pathlib import Path

import torch

from common import count_flops, affine_flops, log, write_json, ROOT

HERE = Path(__file__).resolve().parent


def ig_flops(st, x, layers, n_steps, target=0):
    "(naive, ours) FLOPs of `ig_all_layers`: LIG per layer = the full model on n_steps·B rows + the gradient to the layer + two "
    "full forwards of B rows (captum's layer evaluation on inputs and baselines); ours = the tail from the layer on n_steps·B rows "
    "+ its input gradient + captum's two endpoint tail passes of B rows, plus the one capture."
    from ig_converged import lig_emulated, tail_emulated
    cache = st.capture(x)
    full = count_flops(lambda: st.model(x))
    naive = sum(affine_flops(lambda k, l=l: (lambda: lig_emulated(st, x, l, k)), 2, 4, n_steps) + 2 * full for l in layers)
    ends = lambda l: (lambda: st.run_from(l, cache.hidden[l].repeat(2, 1, 1), cache))
    with torch.no_grad(): ours = full + sum(count_flops(ends(l)) for l in layers)
    ours += sum(affine_flops(lambda k, l=l: (lambda: tail_emulated(st, cache, l, k)), 2, 4, n_steps) for l in layers)
    return naive, ours


def ablation_flops(st, x, n_forwards_naive, ours_one_mode, n_modes):
    "(naive, ours) FLOPs of `ablation_sweep`: naive = its full forwards; ours = one mode's run counted, times the modes (all cost the same)."
    with torch.no_grad(): full = count_flops(lambda: st.logits(x))
    return n_forwards_naive * full, n_modes * count_flops(ours_one_mode)


def main():
    import ig, ablation, run
    from common import base_model, clips
    from neuron_ablation.model import SpeechTransformer
    from neuron_ablation.core import NeuronAblator
    from neuron_ablation.edits import fit_stats
    from ablation import MODES
    from neuron_ablation.attribution import activation as activation_scores
    import tempfile
    res_p, det_p = HERE / 'results.json', HERE / 'results.detail.json'
    rows, det = json.loads(res_p.read_text()), json.loads(det_p.read_text())
    st = SpeechTransformer(base_model())
    x = clips(ig.N_CLIPS, ig.SECONDS); layers = st.layers('hidden')
    log("counting ig_all_layers"); fl = {'ig_all_layers': ig_flops(st, x, layers, ig.N_STEPS)}
    x = clips(ablation.N_CLIPS, ablation.SECONDS); y = torch.tensor([0, 1] * (ablation.N_CLIPS // 2))
    stats = fit_stats(st, x, None, y, 'hidden', progress=False)
    scores = activation_scores(st, x, y, ablation.TARGET, stats=stats, statistic='mean_abs')
    with tempfile.TemporaryDirectory() as d:
        ab = NeuronAblator(st, save_dir=d, layer_groups={'all': layers}, n_random=ablation.N_RANDOM, seed=ablation.SEED, batch_size=16)
        one = lambda: ab.run_layerwise_ablation(x, y, topk=ablation.TOPK, ablate_mode='zero', target_class=ablation.TARGET, scores=scores,
                                                stats=stats, n_random=ablation.N_RANDOM, upstream=False, save=False, progress=False)
        log("counting ablation_sweep")
        fl['ablation_sweep'] = ablation_flops(st, x, len(MODES) * (1 + len(layers) * (1 + ablation.N_RANDOM)), one, len(MODES))
    for r in rows + det['records']:
        if r['case'] in fl:
            tgt = r if 'detail' not in r else r['detail']
            tgt.update(flops_naive=fl[r['case']][0], flops_ours=fl[r['case']][1], flop_ratio=fl[r['case']][0] / fl[r['case']][1])
            if 'detail' in r: r['detail']['flops_counted'] = 'FlopCounterMode (bench/flops.py)'
    write_json(res_p, rows); write_json(det_p, det)
    for c, (a, b) in fl.items(): print(f"{c}: naive {a/1e12:.2f} TFLOP, ours {b/1e12:.2f} TFLOP, ratio {a/b:.2f}")
    if det['run'].get('quiet', True) and not det['run'].get('quick'):
        run.update_markdown(ROOT / 'BENCHMARKS.md', det['records'], det['machine'], det['run'])


if __name__ == '__main__':
    main()
