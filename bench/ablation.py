"""Case `ablation_sweep`: every layer x 4 modes x (top-k + 5 random-k), ours (stacked tail passes) vs a full forward per condition."""
from __future__ import annotations
import tempfile

import torch
import torch.nn.functional as F

import common
from common import base_model, clips, interleaved, summary, log
from neuron_ablation.core import NeuronAblator
from neuron_ablation.model import SpeechTransformer, hook_count
from neuron_ablation.edits import fit_stats
from neuron_ablation.attribution import activation as activation_scores

N_CLIPS, SECONDS, TOPK, N_RANDOM, TARGET, SEED = 4, 1.0, 100, 5, 0, 0
# the modes this case was written for (edits.MODES has grown: 'gain' needs a factor, 'patch' a source clip, 'resample'
# a batch to draw from; looping over MODES stopped the case with "mode 'gain' needs gain=")
MODES = ('zero', 'mean', 'noise', 'invert')


def conditions(c:dict):
    "(condition name, neuron ids) of one layer of `AblationResults.neurons`: top-k, then random_0..."
    return [('topk', c['topk'])] + [(f'random_{i}', r) for i, r in enumerate(c['random'])]


@torch.no_grad()
def naive_sweep(st:SpeechTransformer, x, neurons:dict, stats, modes=MODES):
    "The naive path: per mode a clean forward, then per layer and condition one full forward with an ablation hook -> {key: probs [B, C]}."
    out = {}
    for mode in modes:
        out[(mode, 'baseline')] = F.softmax(st.logits(x), -1)
        for l, c in neurons[mode].items():
            for name, ids in conditions(c):
                with st.ablate({l: ids}, mode, stats=stats, seed=SEED):
                    out[(mode, l, name)] = F.softmax(st.logits(x), -1)
    return out


def compare(results:dict, probs:dict, class_names):
    "(max abs, max rel) difference of the mean class probabilities of every (mode, layer, condition, class)."
    worst_abs, ref_max = 0., 0.
    for mode, res in results.items():
        t = res.to_frame(); t = t[t.metric == 'prob']
        for layer, cond, cls, value in zip(t.layer, t.condition, t['class'], t.value):
            p = probs[(mode, 'baseline') if cond == 'baseline' else (mode, layer, cond)]
            ref = p[:, class_names.index(cls)].mean().item()
            worst_abs, ref_max = max(worst_abs, abs(value - ref)), max(ref_max, abs(ref))
        n_expected = len(res.neurons) * (2 + N_RANDOM) * len(class_names)
        if len(t) != n_expected: raise RuntimeError(f"mode {mode}: {len(t)} probability rows, expected {n_expected}")
    # each mode's sweep measured that mode: its top-k rows differ from every other mode's (a sweep that ignored
    # `ablate_mode` would give one table four times)
    tops = {m: tuple(r.to_frame().query("metric == 'prob' and condition == 'topk'").value.round(9)) for m, r in results.items()}
    same = [(a, b) for a in tops for b in tops if a < b and tops[a] == tops[b]]
    if same: raise RuntimeError(f"the ablation sweeps of modes {same} gave identical top-k rows: a mode was not applied")
    return worst_abs, worst_abs / ref_max


def run(repeats:int, quick:bool=False):
    "Time ours vs naive (interleaved) and check that the probabilities agree; -> record dict."
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS); y = torch.tensor([0, 1] * (N_CLIPS // 2))
    layers = st.layers('hidden')[-(2 if common.SMOKE else 4):] if quick else st.layers('hidden')
    topk = 8 if common.SMOKE else TOPK   # the smoke model has 64 neurons
    # fitted once, outside the timing, and passed to both paths
    stats = fit_stats(st, x, None, y, 'hidden', progress=False)
    scores = activation_scores(st, x, y, TARGET, stats=stats, statistic='mean_abs')
    tmp = tempfile.TemporaryDirectory(prefix='bench_ablation_')
    ab = NeuronAblator(st, save_dir=tmp.name, layer_groups={'all': layers}, n_random=N_RANDOM, seed=SEED, batch_size=16)
    log(f"ablation_sweep: {st!r}; {N_CLIPS} clips x {SECONDS} s, layers {layers[0]}..{layers[-1]}, modes {MODES}, "
        f"top-{topk} + {N_RANDOM} random-{topk}")
    def ours(modes=MODES, ab=ab):
        return {m: ab.run_layerwise_ablation(x, y, topk=topk, ablate_mode=m, target_class=TARGET, scores=scores, stats=stats,
                                             n_random=N_RANDOM, upstream=False, save=False, progress=False) for m in modes}
    log("  warm-up (ours: all modes, gives the neuron sets; naive: one mode on one layer)")
    first = ours(); neurons = {m: r.neurons for m, r in first.items()}
    naive_sweep(st, x, {'zero': {layers[-1]: neurons['zero'][layers[-1]]}}, stats, modes=('zero',))
    times, outs, loads = interleaved(lambda: naive_sweep(st, x, neurons, stats), ours, repeats, 'ablation')
    for m, r in outs['ours'].items():
        if r.neurons != neurons[m]: raise RuntimeError(f"mode {m}: the neuron sets changed between runs")
    max_abs, max_rel = compare(outs['ours'], outs['naive'], st.class_names)
    if hook_count(st.model): raise RuntimeError("hooks left on the model")
    from flops import ablation_flops
    log("  counting FLOPs (FlopCounterMode, bench/flops.py)")
    fl_naive, fl_ours = ablation_flops(st, x, len(MODES) * (1 + len(layers) * (1 + N_RANDOM)), lambda: ours(('zero',)), len(MODES))
    tmp.cleanup()
    n_cond = len(layers) * len(MODES) * (1 + N_RANDOM)
    return dict(case='ablation_sweep', unit='s', **summary(times), max_rel_diff=max_rel, tol_abs=1e-5, target=4.0,
                detail=dict(times=times, load=loads, layers=layers, n_clips=N_CLIPS, seconds=SECONDS, topk=topk, n_random=N_RANDOM,
                            modes=list(MODES), conditions=n_cond, max_abs_diff=max_abs, flops_naive=fl_naive, flops_ours=fl_ours,
                            flop_ratio=fl_naive / fl_ours, flops_counted='FlopCounterMode (bench/flops.py)',
                            compared="mean class probabilities of every (mode, layer, condition, class) and the baselines",
                            naive='per mode: one clean forward + for every layer and condition one full forward (st.logits) '
                                  'inside st.ablate({layer: ids}, mode, stats=stats)',
                            ours='NeuronAblator.run_layerwise_ablation(upstream=False, save=False, scores=precomputed, '
                                 'stats=precomputed, n_random=5) per mode (includes its capture, spread maps and tables)'))
