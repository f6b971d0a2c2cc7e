"""Shared pieces of the benchmarks: the WavLM-base-sized model, the clips, interleaved A/B timing, machine facts, atomic writes."""
from __future__ import annotations
import gc, json, os, platform, statistics, sys, time
from pathlib import Path

import torch

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

from neuron_ablation.results import atomic_write  # noqa: E402
from neuron_ablation.testing import sine_batch  # noqa: E402


def log(*a):
    "Progress line on stderr (the table goes to stdout)."
    print(*a, file=sys.stderr, flush=True)


def with_biases(model, std:float=0.1, seed:int=0):
    "Give every bias and LayerNorm shift of the encoder a random N(0, std²) value in place, as training would."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith('bias') and '.encoder.' in f'.{n}': p.add_(std * torch.randn(p.shape, generator=g))
    return model


# `bench/run.py --smoke` (environment BENCH_SMOKE=1, so child processes see it too): every case on a tiny model and
# tiny inputs, to prove the benchmark still runs; its figures mean nothing and are never written to committed files
SMOKE = os.environ.get('BENCH_SMOKE') == '1'
# the smallest main job that still runs every step (about 10 s): no figures, one cheap feature, 2 null draws
# (`scaling` and `demo_job` run it under --smoke)
SMOKE_JOB = ['--max_samples', '8', '--n_score', '8', '--n_random', '2', '--topk', '4', '--batch_size', '4', '--n_null', '2',
             '--attribution_method', 'activation', '--plot_formats', 'none', '--features', 'rms', '--no_upstream',
             '--no_stability', '--n_boot', '50', '--cards', '0']
SMOKE_CONFIG = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=2, intermediate_size=128,
                    conv_dim=(32,) * 7, classifier_proj_size=32, num_conv_pos_embeddings=16)


def base_model(seed:int=0):
    "WavLM-base-sized classifier: default `WavLMConfig()` (12 blocks, D 768, d_ff 3072, 12 heads, post-LN, 2 labels), random weights, eval."
    from transformers import WavLMConfig, WavLMForSequenceClassification
    torch.manual_seed(seed)
    model = WavLMForSequenceClassification(WavLMConfig(**(SMOKE_CONFIG if SMOKE else {}))).eval()
    # HF initialises biases to zero, which makes the all-zero state a fixed point of every post-LN block (a degenerate
    # IG baseline); small random biases, as after training, avoid that. Timing does not depend on it.
    return with_biases(model, seed=seed)


def clips(n:int=4, seconds:float=1.0, seed:int=0):
    "n noisy sines of `seconds` (0.25 s with --smoke) at 16 kHz [n, 16000*seconds] float32."
    return sine_batch(n, 0.25 if SMOKE else seconds, seed=seed)


def loadavg():
    "1-minute load average (the machine is shared: it says how contended a measurement was)."
    try: return round(os.getloadavg()[0], 2)
    except OSError: return None


def reset_peak():
    "Start a new peak-memory window: CUDA's allocator peak, else the process's peak RSS (VmHWM, via /proc/self/clear_refs)."
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats(); return
    try: Path('/proc/self/clear_refs').write_text('5')
    except OSError: pass   # not resettable here: peak_mib() is then the process's peak so far


def peak_mib():
    "Peak memory since `reset_peak()` in MiB: `torch.cuda.max_memory_allocated` on CUDA, else peak RSS (VmHWM, or ru_maxrss)."
    if torch.cuda.is_available(): return torch.cuda.max_memory_allocated() / 2**20
    try:
        for line in Path('/proc/self/status').read_text().splitlines():
            if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
    except OSError: pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved(naive, ours, repeats:int, desc:str=''):
    "Time `naive()` and `ours()` alternately (A/B, B/A, ...) `repeats` times -> ({'naive': [s], 'ours': [s]}, last outputs, load averages)."
    times, outs, loads = {'naive': [], 'ours': [], 'peak_mib_naive': [], 'peak_mib_ours': []}, {}, []
    for r in range(repeats):
        order = [('naive', naive), ('ours', ours)] if r % 2 == 0 else [('ours', ours), ('naive', naive)]
        for name, fn in order:
            outs[name] = None; gc.collect(); reset_peak()
            t0 = time.perf_counter(); outs[name] = fn(); dt = time.perf_counter() - t0
            times[name].append(dt); times[f'peak_mib_{name}'].append(peak_mib())
        loads.append(loadavg())
        log(f"  {desc} repeat {r+1}/{repeats}: naive {times['naive'][-1]:.2f} s, ours {times['ours'][-1]:.2f} s, "
            f"ratio {times['naive'][-1]/times['ours'][-1]:.2f} (load {loads[-1]})")
    return times, outs, loads


def summary(times:dict):
    "Median times and the ratio of an `interleaved` result: the median of the per-repeat ratios naive_i / ours_i."
    # Each repeat times naive and ours back to back, under about the same load; on a shared machine a load spike can
    # inflate one path's median alone, so the ratio of medians is kept only as a detail.
    n, o = statistics.median(times['naive']), statistics.median(times['ours'])
    pairs = [a / b for a, b in zip(times['naive'], times['ours'])]
    mem = {k: statistics.median(times[f'peak_mib_{k}']) for k in ('naive', 'ours') if times.get(f'peak_mib_{k}')}
    return dict(naive=n, ours=o, ratio=statistics.median(pairs), ratio_of_medians=n / o, pair_ratios=pairs,
                **({'memory': mem} if mem else {}))


def machine():
    "Facts about the machine and software a result was measured on."
    import transformers, captum
    cpu = platform.processor() or ''
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): cpu = line.split(':', 1)[1].strip(); break
    except OSError: pass
    mem = None
    try:
        for line in Path('/proc/meminfo').read_text().splitlines():
            if line.startswith('MemTotal'): mem = round(int(line.split()[1]) / 2**20, 1); break
    except OSError: pass
    return dict(cpu=cpu, cores=os.cpu_count(), torch_threads=torch.get_num_threads(), memory_gib=mem,
                device='cuda' if torch.cuda.is_available() else 'cpu', torch=torch.__version__,
                transformers=transformers.__version__, captum=captum.__version__, python=platform.python_version(),
                platform=platform.platform())


def write_json(path, obj):
    "Write `obj` as indented JSON atomically."
    atomic_write(path, json.dumps(obj, indent=1) + '\n')


def count_flops(fn):
    "FLOPs of one call of `fn()` (matmuls and convolutions, forward and backward), counted by torch.utils.flop_counter."
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as fc: fn()
    return fc.get_total_flops()


def affine_flops(make, n_small:int, n_large:int, n_target:int):
    "FLOPs of `make(n)()` at `n_target`, from exact counts at `n_small` and `n_large` (the cost is affine in the path points n)."
    a, b = count_flops(make(n_small)), count_flops(make(n_large))
    return a + (b - a) * (n_target - n_small) / (n_large - n_small)
