"""Cases against the tools a user would pick instead: nnsight (one `model.trace` per condition, as its docs teach) and
TransformerLens' HuBERT bridge (`run_with_hooks` per condition), for the ablation sweep and per-layer capture.

Each case checks equal results before it reports a time. The peers are the `bench` extra (`pip install -e ".[bench]"`
with transformers `<5` in the same install: nnsight alone would pull transformers 5); a case whose peer is not
installed stops with that instruction.
  nnsight_ablation  WavLM-base-sized classifier, layers 0/6/12, top-k + 5 random-k zero edits: one trace per condition
                    (naive) vs `run_conditions` (ours, stacked tail passes)
  tl_ablation       HuBERT-base-sized bare encoder + a mean-pooled linear head, the same sweep through the bridge
  nnsight_capture   every hidden layer 0..N saved in one trace vs `SpeechTransformer.capture`
  tl_capture        every hidden layer through `run_with_cache` vs `SpeechTransformer.capture`
  nnsight_ig        integrated gradients at every hidden layer (16 Gauss-Legendre steps, zero baseline): per layer one
                    trace of all path points with the layer's state scaled and its `.grad` read in `loss.backward()`
                    (naive) vs `integrated_gradients` (ours, tail execution)
"""
from __future__ import annotations
import os

import torch
import torch.nn.functional as F
from torch import nn

from common import base_model, clips, interleaved, summary, log, with_biases
from neuron_ablation.model import SpeechTransformer, masked_mean, hook_count
from neuron_ablation.edits import Edit
from neuron_ablation.sweep import run_conditions

N_CLIPS, SECONDS, TOPK, N_RANDOM, SEED = 4, 1.0, 100, 5, 0
LAYERS = (0, 6, 12)


def _version(dist:str) -> str:
    from importlib.metadata import version
    return version(dist)


def _need(module:str):
    "Import a peer, or stop with how to install it."
    try: return __import__(module)
    except ImportError:
        raise SystemExit(f"bench/peers.py needs {module}: pip install -e '.[bench]' 'transformers>=4.40,<5'") from None


class MeanLinear(nn.Module):
    "A fixed head for a bare encoder: mean-pooled last hidden state -> linear (the same function on both sides)."
    def __init__(self, d:int, n_layers:int, n_classes:int=4, seed:int=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.lin = nn.Linear(d, n_classes)
        with torch.no_grad(): self.lin.weight.copy_(torch.randn(n_classes, d, generator=g) / d ** 0.5)
        self.layers, self.class_names, self.task = [n_layers], [f'c{i}' for i in range(n_classes)], 'classification'

    def forward(self, states:dict, frame_mask=None): return self.lin(masked_mean(states[self.layers[0]], frame_mask))


def hubert_base(seed:int=0):
    "HuBERT-base-sized bare encoder (default `HubertConfig()`), random weights with small biases, eval."
    import common
    from transformers import HubertConfig, HubertModel
    torch.manual_seed(seed)
    return with_biases(HubertModel(HubertConfig(**(common.SMOKE_CONFIG if common.SMOKE else {}))).eval(), seed=seed)


def neuron_sets(D:int, layers, quick:bool):
    "{layer: [(condition, ids)]}: a 'top' set and N_RANDOM random sets of TOPK neurons per layer, seeded."
    g, k = torch.Generator().manual_seed(SEED), TOPK // 4 if quick else TOPK
    return {l: [(c, torch.randperm(D, generator=g)[:k].tolist()) for c in ['topk'] + [f'random_{i}' for i in range(N_RANDOM)]]
            for l in layers}


def ours_sweep(st, x, sets):
    "Every condition in `run_conditions` (one capture, stacked tail passes) -> {(layer, condition) | 'baseline': probs}."
    passes = {l: [[((l, c), Edit({l: ids}, mode='zero')) for c, ids in conds]] for l, conds in sets.items()}
    out = run_conditions(st, x, passes, batch_size=N_CLIPS, progress=False)
    return {k: F.softmax(v, -1) for k, v in out.logits.items()}


def _zeroed(ids):
    def fn(t):
        t = t.clone(); t[..., ids] = 0; return t
    return fn


def nnsight_sweep(nm, st, x, sets):
    "One `nm.trace` per condition, editing the layer's residual in place (layer l < N: block l's input; N: last output)."
    N, out = st.n_layers, {}
    blocks = nm.wavlm.encoder.layers
    with torch.no_grad():
        with nm.trace(x):
            base = nm.output.logits.save()
        out['baseline'] = F.softmax(base, -1)
        for l, conds in sets.items():
            for c, ids in conds:
                with nm.trace(x):
                    if l < N: blocks[l].input[:, :, ids] = 0
                    else: blocks[N - 1].output[0][:, :, ids] = 0
                    lg = nm.output.logits.save()
                out[(l, c)] = F.softmax(lg, -1)
    return out


def tl_sweep(bridge, st, x, sets):
    "One `run_with_hooks` per condition at `blocks.{l}.hook_in` (l < N) or `blocks.{N-1}.hook_out`; our head on the output."
    N, out, head = st.n_layers, {}, st.head
    probs = lambda o: F.softmax(head({N: o.last_hidden_state}), -1)
    with torch.no_grad():
        out['baseline'] = probs(bridge(x))
        for l, conds in sets.items():
            for c, ids in conds:
                name = f'blocks.{l}.hook_in' if l < N else f'blocks.{N - 1}.hook_out'
                fn = _zeroed(ids)
                out[(l, c)] = probs(bridge.run_with_hooks(x, fwd_hooks=[(name, lambda t, hook: fn(t))]))
    return out


def max_diff(a:dict, b:dict):
    "(max abs, max rel) difference of two {key: probs} with the same keys."
    if a.keys() != b.keys(): raise RuntimeError(f"different conditions: {sorted(map(str, a))} vs {sorted(map(str, b))}")
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    return worst, worst / max(b[k].abs().max().item() for k in b)


def flop_detail(naive, ours):
    "FLOPs of one call of each side (FlopCounterMode: matmuls, convolutions) and their ratio; the error where counting fails."
    from common import count_flops
    try: fn, fo = count_flops(naive), count_flops(ours)
    except Exception as e: return dict(flops_error=f"{type(e).__name__}: {str(e)[:300]}")
    return dict(flops_naive=fn, flops_ours=fo, flop_ratio=fn / fo if fo else None,
                flops_counted='FlopCounterMode around one call of each side, after the timed repeats')


def _record(case, times, loads, max_abs, max_rel, **detail):
    return dict(case=case, unit='s', **summary(times), max_rel_diff=max_rel, tol=1e-4, target=None,
                detail=dict(times=times, load=loads, max_abs_diff=max_abs, n_clips=N_CLIPS, seconds=SECONDS, **detail))


def _sweep_case(case, st, x, peer_fn, peer, repeats, quick, peer_desc):
    layers = [l for l in LAYERS if l <= st.n_layers] if st.n_layers >= LAYERS[-1] else [0, st.n_layers // 2, st.n_layers]
    sets = neuron_sets(st.d_model, layers, quick)
    log(f"{case}: {st!r}; {N_CLIPS} clips x {SECONDS} s, layers {layers}, 1 + {N_RANDOM} sets of {len(sets[layers[0]][0][1])} per layer")
    ours_sweep(st, x, sets); peer_fn(peer, st, x, sets)   # warm-up
    times, outs, loads = interleaved(lambda: peer_fn(peer, st, x, sets), lambda: ours_sweep(st, x, sets), repeats, case)
    max_abs, max_rel = max_diff(outs['ours'], outs['naive'])
    fl = flop_detail(lambda: peer_fn(peer, st, x, sets), lambda: ours_sweep(st, x, sets))
    if hook_count(st.model): raise RuntimeError("hooks left on the model")
    return _record(case, times, loads, max_abs, max_rel, **fl, layers=layers, topk=len(sets[layers[0]][0][1]), n_random=N_RANDOM,
                   conditions=len(layers) * (1 + N_RANDOM), naive=peer_desc,
                   ours='run_conditions(st, x, {layer: [[(key, Edit({layer: ids}, mode="zero")), ...]]}): one capture, '
                        'one stacked tail pass per layer', compared='class probabilities of every condition and the baseline')


def run_nnsight_ablation(repeats:int, quick:bool=False):
    nnsight = _need('nnsight')
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS)
    return _sweep_case('nnsight_ablation', st, x, nnsight_sweep, nnsight.NNsight(st.model), repeats, quick,
                       f'nnsight {nnsight.__version__}: one model.trace per condition, block input edited in place')


def _bridge(model):
    "TransformerLens' bridge around a local HuBERT (no hub: the config and weights are the model's own)."
    _need('transformer_lens')
    import tempfile
    from transformer_lens.model_bridge import TransformerBridge
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    d = tempfile.mkdtemp(prefix='bench_tl_'); model.config.save_pretrained(d)
    return TransformerBridge.boot_transformers(d, hf_model=model, device='cpu')


def _hubert_st():
    m = hubert_base(); n = m.config.num_hidden_layers
    return SpeechTransformer(m, head=MeanLinear(m.config.hidden_size, n))


def run_tl_ablation(repeats:int, quick:bool=False):
    st = _hubert_st(); x = clips(N_CLIPS, SECONDS)
    return _sweep_case('tl_ablation', st, x, tl_sweep, _bridge(st.model), repeats, quick,
                       f'TransformerLens {_version("transformer-lens")} HuBERT bridge: one run_with_hooks per condition')


def nnsight_states(nm, st, x):
    "Every hidden layer 0..N saved in one trace (block inputs, then the last block's output)."
    import nnsight
    N, blocks = st.n_layers, nm.wavlm.encoder.layers
    with torch.no_grad():
        with nm.trace(x):   # values leave a trace only through a saved container (nnsight 0.8)
            hs = nnsight.save([])
            for l in range(N): hs.append(blocks[l].input)
            hs.append(blocks[N - 1].output[0])
    return dict(enumerate(hs))


def tl_states(bridge, st, x):
    N = st.n_layers
    names = [f'blocks.{l}.hook_in' for l in range(N)] + [f'blocks.{N - 1}.hook_out']
    with torch.no_grad(): _, cache = bridge.run_with_cache(x, names_filter=lambda n: n in names)
    return {l: cache[n] for l, n in enumerate(names)}


def ours_states(st, x):
    with torch.no_grad(): return dict(st.capture(x).hidden)


def _capture_case(case, st, x, peer_fn, peer, repeats, peer_desc):
    log(f"{case}: {st!r}; {N_CLIPS} clips x {SECONDS} s, hidden layers 0..{st.n_layers}")
    ours_states(st, x); peer_fn(peer, st, x)
    times, outs, loads = interleaved(lambda: peer_fn(peer, st, x), lambda: ours_states(st, x), repeats, case)
    max_abs, max_rel = max_diff(outs['ours'], outs['naive'])
    fl = flop_detail(lambda: peer_fn(peer, st, x), lambda: ours_states(st, x))
    return _record(case, times, loads, max_abs, max_rel, **fl, layers=st.n_layers + 1, naive=peer_desc,
                   ours='SpeechTransformer.capture(x): every hidden layer in one forward', compared='every hidden state')


def run_nnsight_capture(repeats:int, quick:bool=False):
    nnsight = _need('nnsight')
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS)
    return _capture_case('nnsight_capture', st, x, nnsight_states, nnsight.NNsight(st.model), repeats,
                         f'nnsight {nnsight.__version__}: one trace saving every block input and the last output')


def run_tl_capture(repeats:int, quick:bool=False):
    st = _hubert_st(); x = clips(N_CLIPS, SECONDS)
    return _capture_case('tl_capture', st, x, tl_states, _bridge(st.model), repeats,
                         f'TransformerLens {_version("transformer-lens")} HuBERT bridge: run_with_cache(names_filter)')


def _ig_module(nm, st, l:int):
    "The module whose output is hidden state `l` in the post-LN layout (as bench/ig.py's `lig_module`)."
    if st.stable: raise ValueError("the nnsight IG path is written for the post-LN layout (default WavLMConfig)")
    e = nm.wavlm.encoder
    return e.layer_norm if l == 0 else e.layers[l - 1].final_layer_norm


def nnsight_ig(nm, st, x, layers, target:int=0, n_steps:int=16, method:str='gausslegendre'):
    "IG from a zero baseline at each layer, nnsight's way: {layer: [D] mean over clips and frames of the attributions}."
    from captum.attr._utils.approximation_methods import approximation_parameters
    sizes, alphas = (f(n_steps) for f in approximation_parameters(method))
    B, out = len(x), {}
    a = torch.tensor(alphas, dtype=x.dtype).repeat_interleave(B).view(-1, 1, 1)   # row j*B + b: step j of clip b
    w = torch.tensor(sizes, dtype=x.dtype).view(-1, 1, 1, 1)
    for l in layers:
        with nm.trace(x.repeat(n_steps, 1)):
            h = _ig_module(nm, st, l).output.save()
            z = a * h
            _ig_module(nm, st, l).output = z
            loss = nm.output.logits[:, target].sum()
            with loss.backward():
                g = z.grad.save()
        g = g.view(n_steps, B, *g.shape[1:])
        out[l] = (h[:B].detach() * (w * g).sum(0)).mean(1).mean(0)
    return out


def ours_ig(st, x, layers, target:int=0, n_steps:int=16, method:str='gausslegendre'):
    import warnings
    import neuron_ablation.gradients as G
    y = torch.full((len(x),), target)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # 16 steps from a zero baseline do not converge: the same for both sides
        s = G.integrated_gradients(st, x, y, target, layers=layers, n_steps=n_steps, approximation_method=method,
                                   baselines='zeros', batch_size=len(x), clips='all', aggregate='mean', progress=False)
    return {l: s[l] for l in layers}


def run_nnsight_ig(repeats:int, quick:bool=False):
    nnsight = _need('nnsight')
    st = SpeechTransformer(base_model()); x = clips(N_CLIPS, SECONDS)
    layers = st.layers('hidden')[-4:] if quick else st.layers('hidden')
    nm = nnsight.NNsight(st.model)
    log(f"nnsight_ig: {st!r}; {N_CLIPS} clips x {SECONDS} s, n_steps 16, layers {layers[0]}..{layers[-1]}")
    ours_ig(st, x, layers[-2:]); nnsight_ig(nm, st, x, layers[-2:])   # warm-up
    times, outs, loads = interleaved(lambda: nnsight_ig(nm, st, x, layers), lambda: ours_ig(st, x, layers), repeats,
                                     'nnsight_ig')
    max_abs, max_rel = max_diff(outs['ours'], outs['naive'])
    from ig_converged import tail_emulated   # ours' ops without captum's leaf input, which FlopCounterMode refuses
    cache = st.capture(x)
    fl = flop_detail(lambda: nnsight_ig(nm, st, x, layers),
                     lambda: (st.capture(x), [tail_emulated(st, cache, l, 16) for l in layers]))
    fl['flops_counted'] = 'FlopCounterMode: naive one call; ours one capture + the 16-step tail pass of every layer'
    if hook_count(st.model): raise RuntimeError("hooks left on the model")
    return _record('nnsight_ig', times, loads, max_abs, max_rel, **fl, layers=layers, n_steps=16, method='gausslegendre',
                   baseline='zeros (layer state)', naive=f'nnsight {nnsight.__version__}: per layer one trace of the '
                   '16 x 4 path rows, the state scaled in place, its .grad read in loss.backward()',
                   ours='gradients.integrated_gradients(n_steps=16, baselines="zeros"): tail execution',
                   compared='per-layer scores (attributions averaged over frames and clips)')


RUNS = dict(nnsight_ablation=run_nnsight_ablation, tl_ablation=run_tl_ablation,
            nnsight_capture=run_nnsight_capture, tl_capture=run_tl_capture, nnsight_ig=run_nnsight_ig)
