"""Case `ig_all_layers`: integrated gradients at every hidden layer, ours (tail execution) vs captum LIG once per layer."""
from __future__ import annotations
import warnings
from contextlib import contextmanager

import torch
from captum.attr import LayerIntegratedGradients

import common
from common import base_model, clips, interleaved, summary, log
import neuron_ablation.gradients as attribution   # the path methods live in gradients
from neuron_ablation.model import SpeechTransformer, hook_count

N_CLIPS, SECONDS, N_STEPS, METHOD, TARGET = 4, 1.0, 16, 'gausslegendre', 0


def lig_module(st:SpeechTransformer, layer:int):
    "Module whose *output* is hidden state `layer` in the post-LN layout (a whole block returns a tuple, which LIG cannot hook)."
    if st.stable: raise ValueError("the naive path is written for the post-LN layout (default WavLMConfig)")
    return st.base.encoder.layer_norm if layer == 0 else st.blocks[layer - 1].final_layer_norm


def lig_layer(st:SpeechTransformer, x, layer:int, base_state, target:int=TARGET, n_steps:int=N_STEPS, method:str=METHOD):
    "The naive path: captum `LayerIntegratedGradients` on the full HF model for one layer -> per-frame attributions [B, T, D]."
    # LIG's baseline is an *input* baseline. To give it the layer baseline `base_state` [B, T, D] that ours uses, the baseline
    # waveform is a marked tensor and, while the model runs on it, a hook registered before captum's swaps in `base_state`.
    mod, xb, active = lig_module(st, layer), torch.zeros_like(x), {'on': False}
    def fwd(w):
        active['on'] = w is xb
        return st.model(w).logits
    hk = mod.register_forward_hook(lambda m, a, out: base_state if active['on'] else None, prepend=True)
    try: return LayerIntegratedGradients(fwd, mod).attribute(x, baselines=xb, target=target, n_steps=n_steps, method=method)
    finally: hk.remove()


@contextmanager
def spy_frames(store:list):
    "Record the per-frame attributions [B, T, D] that `integrated_gradients` aggregates (a reference, no extra work)."
    # the per-layer result of the step schedule: one record per layer and batch, however many steps were tried
    orig = attribution._ig_adaptive
    def _spy(*args, **kw):
        out = orig(*args, **kw); store.append(out[0].detach()); return out
    attribution._ig_adaptive = _spy
    try: yield store
    finally: attribution._ig_adaptive = orig


def rel_diff(a, ref):
    "max |a - ref| / max |ref|."
    return ((a - ref).abs().max() / ref.abs().max().clamp(min=1e-30)).item()


def run(repeats:int, quick:bool=False):
    "Time ours vs naive (interleaved) and check that they agree; -> record dict."
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS); y = torch.full((N_CLIPS,), TARGET)
    layers = st.layers('hidden')[-(2 if common.SMOKE else 4):] if quick else st.layers('hidden')
    T = st.n_frames(x.shape[1]); zeros = torch.zeros(N_CLIPS, T, st.d_model)
    log(f"ig_all_layers: {st!r}; {N_CLIPS} clips x {SECONDS} s ({T} frames), n_steps {N_STEPS}, layers {layers[0]}..{layers[-1]}")
    frames = []
    def ours(ls=layers):
        frames.clear()
        with warnings.catch_warnings(), spy_frames(frames):
            warnings.simplefilter('ignore')  # 16 steps from a zero baseline do not converge: a property of the integral, same for both
            return attribution.integrated_gradients(st, x, y, TARGET, layers=ls, n_steps=N_STEPS, approximation_method=METHOD, baselines='zeros',
                                                    batch_size=N_CLIPS, clips='all', aggregate='mean', progress=False)
    def naive(ls=layers): return {l: lig_layer(st, x, l, zeros) for l in ls}
    log("  warm-up (last two layers, both paths)"); naive(layers[-2:]); ours(layers[-2:])
    times, outs, loads = interleaved(naive, ours, repeats, 'ig')
    ref, scores = outs['naive'], outs['ours']
    if len(frames) != len(layers): raise RuntimeError(f"spy saw {len(frames)} layers, expected {len(layers)}")
    per_frame = max(rel_diff(a, ref[l]) for a, l in zip(frames, layers))
    aggregated = max(rel_diff(scores[l], ref[l].mean(1).mean(0)) for l in layers)
    max_abs = max((a - ref[l]).abs().max().item() for a, l in zip(frames, layers))
    if hook_count(st.model): raise RuntimeError("hooks left on the model")
    from flops import ig_flops
    log("  counting FLOPs (FlopCounterMode, bench/flops.py)"); fl_naive, fl_ours = ig_flops(st, x, layers, N_STEPS)
    s = summary(times)
    return dict(case='ig_all_layers', unit='s', **s, max_rel_diff=max(per_frame, aggregated), tol=1e-4, target=3.5,
                detail=dict(times=times, load=loads, layers=layers, n_clips=N_CLIPS, seconds=SECONDS, n_steps=N_STEPS,
                            method=METHOD, target_class=TARGET, baseline='zeros (layer state)', per_frame_rel_diff=per_frame,
                            aggregated_rel_diff=aggregated, max_abs_diff=max_abs, frames=T,
                            convergence_delta=scores.meta['convergence_delta'], flops_naive=fl_naive, flops_ours=fl_ours,
                            flop_ratio=fl_naive / fl_ours, flops_counted='FlopCounterMode (bench/flops.py)',
                            compared='per-frame attributions [B, T, D] of every layer, and the aggregated scores (max of both)',
                            naive='captum LayerIntegratedGradients on the full model, once per layer, hooking the output of '
                                  'encoder.layer_norm (layer 0) / blocks[l-1].final_layer_norm (layer l >= 1), layer baseline swapped in',
                            ours='neuron_ablation.attribution.integrated_gradients (captum IntegratedGradients on SpeechTransformer.run_from), defaults'))
