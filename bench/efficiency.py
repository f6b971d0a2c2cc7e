"""Case `efficiency`: the FLOPs the IG tail passes must do, against the machine's measured float32 matmul rate."""
from __future__ import annotations
import statistics, time

import torch
from torch.utils.flop_counter import FlopCounterMode

from common import base_model, clips, log
from neuron_ablation.model import SpeechTransformer
import ig


MATMUL_N, MATMUL_REPS = 4096, 5


def matmul_rate(n:int|None=None, reps:int=MATMUL_REPS):
    "float32 `torch.matmul` of two [n, n] matrices: `reps` timed calls after one warm-up call -> list of GFLOP/s."
    import common
    n = n or (512 if common.SMOKE else MATMUL_N)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
    torch.matmul(a, b); rates = []
    for _ in range(reps):
        t0 = time.perf_counter(); torch.matmul(a, b); rates.append(2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return rates


def _block_head_flops(cfg, T:int):
    "(linear, attention, head) forward FLOPs of one row (clip) of T frames: one block's matmuls and the head's."
    D, F, P, C = cfg.hidden_size, cfg.intermediate_size, cfg.classifier_proj_size, cfg.num_labels
    lin = 2 * T * (4 * D * D + 2 * D * F + D * 8)   # q, k, v, out projections; FFN in/out; WavLM's gate (head_dim -> 8 per head)
    att = 2 * 2 * T * T * D                         # Q K^T and A V
    return lin, att, 2 * T * D * P + 2 * P * C      # head: projector per frame, classifier on the pooled vector


def analytic_flops(cfg, T:int, rows:int, blocks:int):
    "FLOPs of one IG tail pass: forward of `rows` rows through `blocks` blocks and the head, plus the input-gradient backward."
    lin, att, head = _block_head_flops(cfg, T)
    # backward w.r.t. the layer state only (autograd.grad(inputs=h)): one matmul per linear (dX = dY W), two per attention matmul
    return rows * (blocks * (2 * lin + 3 * att) + 2 * head)


def sweep_flops(st:SpeechTransformer, x, layers, n_cond:int, n_modes:int):
    "Forward FLOPs of the ablation sweep's tail passes (n_cond·B rows from every layer) plus its capture, for all modes."
    with FlopCounterMode(display=False) as fc: st.capture(x)
    lin, att, head = _block_head_flops(st.config, st.n_frames(x.shape[1]))
    tails = sum(n_cond * len(x) * ((st.n_layers - l) * (lin + att) + head) for l in layers)
    return n_modes * (fc.get_total_flops() + tails)


def counted_flops(st:SpeechTransformer, cache, layer:int, rows:int):
    "FLOPs that torch's FlopCounterMode sees for one IG tail pass (forward + input-gradient backward) from `layer`."
    n = rows // cache.batch_size
    h = torch.cat([cache.hidden[layer]] * n).requires_grad_(True)
    # `.backward()` with frozen weights = autograd.grad(inputs=h) (FlopCounterMode's module hooks reject autograd.grad on a leaf)
    params = [p for p in st.model.parameters() if p.requires_grad]
    for p in params: p.requires_grad_(False)
    try:
        with FlopCounterMode(display=False) as fc, torch.enable_grad():
            st.run_from(layer, h, cache)[:, ig.TARGET].sum().backward()
    finally:
        for p in params: p.requires_grad_(True)
    return fc.get_total_flops()


def run(records:list, rates:list, quick:bool=False): # `rates`: matmul GFLOP/s samples taken before and after every timed case
    "Efficiency of the `ig_all_layers` ours runs (and the ceilings FLOPs put on both speed ratios); -> record dict."
    ig_record = next(r for r in records if r['case'] == 'ig_all_layers')
    st = SpeechTransformer(base_model()); x = clips(ig.N_CLIPS, ig.SECONDS); cache = st.capture(x)
    layers, N, T = ig_record['detail']['layers'], st.n_layers, cache.hidden[0].shape[1]
    rows = ig.N_STEPS * ig.N_CLIPS
    must = sum(analytic_flops(st.config, T, rows, N - l) for l in layers)
    # FlopCounterMode on the head-only tail (layer N) and a one-block tail (N-1): every block has the same shapes,
    # so the all-layer count is exact by linearity (the full run would take as long as the benchmark itself)
    c_head, c_one = counted_flops(st, cache, N, rows), counted_flops(st, cache, N - 1, rows)
    counted = sum(c_head + (N - l) * (c_one - c_head) for l in layers)
    log(f"efficiency: must-do FLOPs {must/1e12:.3f} T (analytic), {counted/1e12:.3f} T (FlopCounterMode)")
    med, best = statistics.median(rates), max(rates)
    ours = ig_record['ours']
    ideal = must / (med * 1e9)
    # ceiling: the ratio ours would reach, against the same naive runs, if it ran at the matmul rate
    ceilings = dict(ig_all_layers=dict(flops=must, ceiling_ratio=ig_record['ratio'] * ours / ideal))
    abl = next((r for r in records if r['case'] == 'ablation_sweep'), None)
    if abl is not None:
        d = abl['detail']; f = sweep_flops(st, x, d['layers'], 1 + d['n_random'], len(d['modes']))
        ceilings['ablation_sweep'] = dict(flops=f, ceiling_ratio=abl['ratio'] * abl['ours'] / (f / (med * 1e9)), achieved_gflops=f / abl['ours'] / 1e9)
    return dict(case='efficiency', unit='s', naive=ideal, ours=ours, ratio=ideal / ours, max_rel_diff=abs(must - counted) / counted,
                tol=0.02, target=None,
                detail=dict(tail_flops=must, counted_flops=counted, achieved_gflops=must / ours / 1e9, matmul_gflops_median=med,
                            matmul_gflops_best=best, matmul_samples=rates, fraction_of_best=must / ours / 1e9 / best,
                ceilings=ceilings, ceiling_meaning='ratio x ours / (FLOPs ours must do / median matmul rate): the ratio an '
                                                   'implementation doing the same FLOPs at the matmul rate would reach',
                            meaning='naive = seconds the must-do tail FLOPs take at the measured matmul rate (median), '
                                    'ours = measured median of ig_all_layers ours (whole call: capture, convergence-delta passes, '
                                    'captum bookkeeping), ratio = fraction of the matmul rate achieved; max_rel_diff = analytic '
                                    'FLOP count vs torch FlopCounterMode',
                            matmul=f'torch.matmul of two {MATMUL_N}x{MATMUL_N} float32 matrices, {MATMUL_REPS} timed calls after '
                                   f'one warm-up call, before and after every timed case; {torch.get_num_threads()} threads'))
