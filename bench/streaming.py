"""Case `stream_memory`: peak memory of a whole run (`NeuronAblator.run`) on a `ClipStream` of 1,000 vs 10,000 clips read from disk.

The clips are 1-second WAV files written once into a folder (10,000 of them: 305 MiB of int16 audio, 610 MiB as the
float32 tensors an in-memory corpus would hold). Each measured process builds a stream over the first N files (decoded
in 2 `DataLoader` workers), and runs the demo model through scoring (activation statistics), the ablation sweep (top-k
and 2 random-k sets per layer) and the statistics, on the same stream as scoring and evaluation clips; it prints its
peak RSS. Peak RSS covers the main process only: the decoding workers hold one batch each. naive = N = 1,000,
ours = N = 10,000; ratio = peak(10,000) / peak(1,000), target <= 1.10 (what grows with N by design: labels, per-clip
effect values and the bootstrap's resamples of them, a few MiB).
"""
from __future__ import annotations
import argparse, json, resource, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, log, loadavg  # noqa: E402

N_SMALL, N_LARGE, SECONDS, CLASSES, TARGET = 1000, 10000, 1.0, 4, 1.10


def write_clips(folder:Path, n:int):
    "n noisy tones of 1 s at 16 kHz, written once (int16 WAV), their class = i mod CLASSES."
    import numpy as np, soundfile as sf
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(16000 * SECONDS)) / 16000
    for i in range(n):
        p = folder / f'c{i:05d}.wav'
        if p.exists(): continue
        g = np.random.default_rng(i)
        f0 = 120 + 60 * (i % CLASSES) + 20 * g.random()
        sf.write(p, (0.3 * np.sin(2 * np.pi * f0 * t) + 0.02 * g.standard_normal(len(t))).astype(np.float32), 16000, subtype='PCM_16')
    return sorted(folder.glob('c*.wav'))[:n]


def child(folder:str, n:int, workers:int):
    "One measured process: a run on the first n clips as a stream -> dict (MiB, s)."
    import torch, warnings
    from neuron_ablation.core import NeuronAblator, AblationConfig
    from neuron_ablation.demo import load_demo_model
    from neuron_ablation.streaming import ClipStream
    torch.set_num_threads(1)
    paths = sorted(Path(folder).glob('c*.wav'))[:n]
    model, _, names = load_demo_model()
    s = ClipStream(paths, [i % CLASSES for i in range(n)], [f'class{c}' for c in range(CLASSES)], max_seconds=SECONDS, workers=workers)
    cfg = AblationConfig(topk=8, attribution_method='activation', n_random=2, stability=False, upstream=False, n_boot=200, plots=False)
    ab = NeuronAblator(model, tempfile.mkdtemp(), batch_size=32, resume=False)
    ab.run(s[:min(64, n)], s.labels[:min(64, n)], cfg, progress=False, save=False)   # warm-up: lazy allocations before the measured run
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        res = ab.run(s, s.labels, cfg, progress=False, save=False)
    return dict(n=n, peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, seconds=time.perf_counter() - t0,
                n_clips=int(res.config['n_clips']), workers=workers)


def _measure(folder:Path, n:int, workers:int):
    p = subprocess.run([sys.executable, str(Path(__file__).resolve()), '--child', str(folder), '--n', str(n), '--workers', str(workers)],
                       capture_output=True, text=True, env={'PYTHONPATH': str(ROOT), 'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'})
    if p.returncode: raise RuntimeError(f"streaming child N={n} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def run(repeats:int=1, quick:bool=False, folder:str|None=None, workers:int=2):
    "Peak RSS at N_LARGE vs N_SMALL clips, alternating, `repeats` times; -> record dict."
    import common
    small, large = (N_SMALL // 100, N_LARGE // 500) if common.SMOKE else (N_SMALL // 10, N_LARGE // 10) if quick else (N_SMALL, N_LARGE)
    folder = Path(folder or Path(tempfile.gettempdir()) / 'neuron_ablation_stream_bench')
    t0 = time.perf_counter(); write_clips(folder, large); log(f"  streaming: {large} clips in {folder} ({time.perf_counter() - t0:.0f} s)")
    runs, loads = {'naive': [], 'ours': []}, []
    for r in range(repeats):
        for name, n in ([('naive', small), ('ours', large)] if r % 2 == 0 else [('ours', large), ('naive', small)]):
            runs[name].append(_measure(folder, n, workers)); loads.append(loadavg())
            log(f"  streaming N={n}: peak RSS {runs[name][-1]['peak_rss_mib']:.1f} MiB, {runs[name][-1]['seconds']:.0f} s (load {loads[-1]})")
    peak = {k: statistics.median(x['peak_rss_mib'] for x in v) for k, v in runs.items()}
    return dict(case='stream_memory', naive=peak['naive'], ours=peak['ours'], unit='MiB', ratio=peak['ours'] / peak['naive'],
                max_rel_diff=0., tol=None, target=TARGET, bound='at_most',
                detail=dict(max_abs_diff=0., n_small=small, n_large=large, workers=workers, seconds=SECONDS, runs=runs, load=loads,
                            float32_audio_mib_at_large=large * SECONDS * 16000 * 4 / 2**20))


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--child', default=None); ap.add_argument('--n', type=int, default=N_SMALL); ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--quick', action='store_true'); ap.add_argument('--repeats', type=int, default=1)
    a = ap.parse_args()
    if a.child: print(json.dumps(child(a.child, a.n, a.workers)))
    else: print(json.dumps(run(a.repeats, a.quick, workers=a.workers), indent=1))
