"""Case `conductance_all_layers`: neuron conductance of every hidden layer, ours (one forward + one backward per path point
for all layers) vs captum `LayerConductance` once per layer on the full model."""
from __future__ import annotations
import torch
from captum.attr import LayerConductance

import common
from common import base_model, clips, interleaved, summary, log, affine_flops
import neuron_ablation.gradients as attribution   # the path methods live in gradients
from neuron_ablation.model import SpeechTransformer, hook_count

N_CLIPS, SECONDS, N_STEPS, METHOD, TARGET = 2, 1.0, 8, 'riemann_trapezoid', 0


def lc_module(st:SpeechTransformer, layer:int):
    "(module, attribute_to_layer_input) whose hook sees hidden state `layer` of the full model (post-LN layout)."
    if st.stable: raise ValueError("the naive path is written for the post-LN layout (default WavLMConfig)")
    return (st.blocks[layer], True) if layer < st.n_layers else (st.blocks[-1].final_layer_norm, False)


def lc_layer(st, x, base, layer, n_steps=N_STEPS):
    "The naive path for one layer: captum LayerConductance on the full HF model -> [B, T, D]."
    mod, to_input = lc_module(st, layer)
    return LayerConductance(lambda w: st.model(w).logits, mod).attribute(
        x, baselines=base, target=TARGET, n_steps=n_steps, method=METHOD, attribute_to_layer_input=to_input)


def ours_all(st, x, base, layers, n_steps=N_STEPS):
    "Ours, with captum's step rule ('left') so both compute the same sum: {layer: [B, T, D]}."
    return attribution._conductance_batch(st, x, None, TARGET, layers, 'hidden', base, n_steps, METHOD, chunk=n_steps + 1, rule='left')[0]


def rel_diff(a, ref): return ((a - ref).abs().max() / ref.abs().max().clamp(min=1e-30)).item()


def run(repeats:int, quick:bool=False):
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS)
    layers = st.layers('hidden')[-(2 if common.SMOKE else 4):] if quick else st.layers('hidden')
    base = attribution._wave_baseline('noise', x)
    log(f"conductance_all_layers: {st!r}; {N_CLIPS} clips x {SECONDS} s, {N_STEPS} steps ({METHOD}), noise baseline, layers {layers[0]}..{layers[-1]}")
    def naive(ls=layers):
        with torch.enable_grad(): return {l: lc_layer(st, x, base, l) for l in ls}
    def ours(ls=layers): return ours_all(st, x, base, ls)
    log("  warm-up (last layer, both paths)"); naive(layers[-1:]); ours(layers[-1:])
    times, outs, loads = interleaved(naive, ours, repeats, 'conductance')
    rd = max(rel_diff(outs['ours'][l], outs['naive'][l]) for l in layers)
    mad = max((outs['ours'][l] - outs['naive'][l]).abs().max().item() for l in layers)
    if hook_count(st.model): raise RuntimeError("hooks left on the model")
    log("  counting FLOPs (FlopCounterMode at 2 and 4 path points, extrapolated: the cost is affine in the points)")
    fl_naive = affine_flops(lambda n: (lambda: {l: lc_layer(st, x, base, l, n - 1) for l in layers}), 2, 4, N_STEPS + 1)
    leaf = attribution._detached   # FlopCounterMode's module tracker refuses a leaf among autograd.grad's inputs: count with a non-leaf copy
    attribution._detached = lambda a, hook: a.detach().requires_grad_() + 0.
    try: fl_ours = affine_flops(lambda n: (lambda: ours_all(st, x, base, layers, n - 1)), 2, 4, N_STEPS + 1)
    finally: attribution._detached = leaf
    s = summary(times)
    return dict(case='conductance_all_layers', unit='s', **s, max_rel_diff=rd, tol=1e-4, target=8.0,
                detail=dict(times=times, load=loads, layers=layers, n_clips=N_CLIPS, seconds=SECONDS, n_steps=N_STEPS, method=METHOD,
                            rule='left (captum)', baseline='noise at each clip RMS (input space)', max_abs_diff=mad,
                            flops_naive=fl_naive, flops_ours=fl_ours, flop_ratio=fl_naive / fl_ours, flops_counted='FlopCounterMode',
                            compared='per-frame conductance [B, T, D] of every layer',
                            naive='captum LayerConductance on the full HF model, once per layer (input of block l; the last '
                                  "block's final_layer_norm output for layer N)",
                            ours='neuron_ablation.gradients._conductance_batch: every layer from one forward + one backward per path point'))
