"""Benchmarks of neuron_ablation: `make bench` (or `python bench/run.py`) prints the table and writes bench/results.json.

Cases (ratio = naive / ours, so > 1 is better; for memory ≈ 1 is flat). Timed cases alternate naive and ours in
each repeat; their ratio is the median of the per-repeat ratios, their times the medians:
  ig_all_layers   integrated gradients at every hidden layer of a WavLM-base-sized model, ours vs captum LIG per layer
  ablation_sweep  every layer x 4 modes x (top-k + 5 random-k), ours vs one full forward per condition
  stats_memory    peak RSS of fit_stats over N=1000 (naive column) vs N=100 (ours column) clips, separate processes
  efficiency      the IG tail passes' FLOPs at the measured matmul rate (naive column) vs the measured time (ours)
  conductance_all_layers  neuron conductance of every layer: ours in one pass per path point vs captum LayerConductance per layer
  ig_converged    IG at every layer until completeness <= 1 %: ours (adaptive, tail) vs captum LIG per layer, n_steps doubled
  conductance_converged  conductance of every layer until completeness <= 1 %: ours (defaults) vs captum LayerConductance per layer, doubled
  scaling         the main job (CLI on the demo) on 1 rank (naive) vs 2 ranks of torchrun (ours), one thread per rank;
                  ratio = speed-up, parallel efficiency = ratio / 2 (target >= 0.85); 1 repeat unless --repeats is given
  attribution_patching  patching effects at layer 6: exhaustive single-neuron patching of 256 neurons (naive) vs the
                  integrated attribution-patching estimate of all 768 (ours); Spearman rho of both estimates in the detail
  stream_memory   peak RSS of a whole run on a ClipStream of N=1000 (naive) vs N=10000 (ours) clips read from disk;
                  ratio = ours / naive (target <= 1.10); 1 repeat unless --repeats is given
  path_memory_base, path_memory_large  peak RSS of conductance of every layer on one 10-s clip of WavLM-base
                  (16 vs 64 steps) and WavLM-large (8 vs 16 steps), default chunking; ratio = more / fewer (<= 1.10);
                  path_memory_base_mmap: the base pair with glibc's mmap threshold fixed (MALLOC_MMAP_THRESHOLD_=1048576)
  demo_job        `make demo`'s job end to end in a fresh process, seconds per step (no comparison); 3 repeats unless given
  nnsight_ablation, tl_ablation, nnsight_capture, tl_capture, nnsight_ig
                  against the tools a user would pick instead (bench/peers.py; needs the bench extra)

`--smoke` (`make bench-smoke`) runs every case on a tiny model and tiny inputs (with --quick's settings) to prove the
benchmark code still runs; it writes bench/_out/results.smoke.json (git-ignored) and nothing else.
Every finished case is written to bench/_out/<results>.partial.json as it ends, so a stopped run loses only the case
it was in: `--resume` (with the same arguments) takes the finished ones from there and measures the rest.
`--quick` is a smoke test, not a measurement: 1 repeat, the last 4 layers only (whose tails are short, so its
ratios are NOT the figures), N = 20 / 200 clips; it writes bench/results.quick.json and leaves BENCHMARKS.md alone.
"""
from __future__ import annotations
import argparse, json, math, sys, time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, log, machine, write_json, atomic_write  # noqa: E402

PEERS = ('nnsight_ablation', 'tl_ablation', 'nnsight_capture', 'tl_capture', 'nnsight_ig')   # bench/peers.py: the bench extra
CASES = ('ig', 'ablation', 'memory', 'efficiency', 'conductance', 'ig_converged', 'conductance_converged', 'scaling',
         'streaming', 'patching', 'path_memory', 'demo_job', *PEERS)
KEYS = ('case', 'naive', 'ours', 'ratio', 'max_rel_diff', 'unit', 'memory', 'repeats', 'bound')
# a record's `bound` says which way its target points: 'at_most' (memory cases: ratio = the larger workload's peak /
# the smaller's) or absent (speed: ratio >= target)
_at_most = lambda r: r.get('bound') == 'at_most'
MD_BEGIN, MD_END = '<!-- bench:begin (written by bench/run.py) -->', '<!-- bench:end -->'


def _met(r:dict):
    "'yes'/'no' for a speed or memory target, '' where there is none."
    if r.get('target') is None: return ''
    ok = r['ratio'] <= r['target'] if _at_most(r) else r['ratio'] >= r['target']
    return 'yes' if ok else 'no'


def _target(r:dict):
    if r.get('target') is None: return ''
    return f"<= {r['target']:.2f}" if _at_most(r) else f">= {r['target']:.1f}x"


def _correct(r:dict):
    "Whether a record's agreement check passed (None: the case compares no results, only memory)."
    if r.get('tol', 0) is None and r['case'] not in ('ablation_sweep', 'scaling'): return None
    if r['case'] == 'ablation_sweep': return r['detail']['max_abs_diff'] <= r['tol_abs']
    if r['case'] == 'scaling': return r['max_rel_diff'] <= r['tol'] and r['detail']['same_neurons']
    return r['max_rel_diff'] <= r['tol']


def _fmt(v, unit=''):
    if v is None: return ''
    return f'{v:.3g}' if abs(v) < 0.01 or abs(v) >= 1e5 else f'{v:.2f}'


def table(records:list):
    "Markdown table of the records."
    rows = ['| case | repeats | naive | ours | unit | ratio naive/ours (median of repeats) | ratio of medians | spread (min–max) | FLOP ratio | peak memory naive / ours (MiB) | max abs diff | max rel diff | target | met | agree |',
            '|---|---:|---:|---:|---|---:|---:|---|---:|---|---:|---:|---|---|---|']
    for r in records:
        d = r['detail']
        if r['case'] == 'efficiency':
            abs_d = f"{_fmt(d['achieved_gflops'])} of {_fmt(d['matmul_gflops_median'])} GFLOP/s"
        elif r['case'] == 'stats_memory': abs_d = ''
        else: abs_d = f"{d['max_abs_diff']:.2g}"
        pr = r.get('pair_ratios') or []
        spread = f"{min(pr):.2f}–{max(pr):.2f}" if pr else ''
        rom = _fmt(r.get('ratio_of_medians')) if r.get('ratio_of_medians') is not None else ''
        flr = _fmt(d['flop_ratio']) if d.get('flop_ratio') is not None else ('not counted' if d.get('flops_error') else '')
        mem = r.get('memory') or {}
        mem = f"{mem['naive']:.0f} / {mem['ours']:.0f}" if mem else ''
        ok = _correct(r)
        rows.append(f"| {r['case']} | {r.get('repeats') or ''} | {_fmt(r['naive'])} | {_fmt(r['ours'])} | {r['unit']} | {_fmt(r['ratio'])} | {rom} | {spread} | {flr} | {mem} | {abs_d} | "
                    f"{r['max_rel_diff']:.2g} | {_target(r)} | {_met(r)} | {'n/a' if ok is None else 'yes' if ok else 'NO'} |")
    return '\n'.join(rows)


def notes(records:list):
    "One line per FLOP ceiling (from the efficiency case): the best ratio reachable at the measured matmul rate."
    eff = next((r for r in records if r['case'] == 'efficiency'), None)
    if eff is None: return ''
    d = eff['detail']
    out = [f"Matmul rate (float32 4096x4096, median of {len(d['matmul_samples'])} calls around the cases): "
           f"{d['matmul_gflops_median']:.0f} GFLOP/s (best {d['matmul_gflops_best']:.0f}); "
           f"IG tail passes: {d['tail_flops']/1e12:.2f} TFLOP at {d['achieved_gflops']:.0f} GFLOP/s achieved."]
    for case, c in d['ceilings'].items():
        out.append(f"FLOP ceiling of {case}: ours does {c['flops']/1e12:.2f} TFLOP; doing them at the median matmul rate would give "
                   f"ratio {c['ceiling_ratio']:.2f}.")
    return '\n'.join(out)


def machine_line(m:dict):
    return (f"{m['cpu']}, {m['cores']} cores ({m['torch_threads']} torch threads), {m['memory_gib']} GiB, {m['device'].upper()} only; "
            f"torch {m['torch']}, transformers {m['transformers']}, captum {m['captum']}, Python {m['python']}")


def update_markdown(path:Path, records:list, m:dict, info:dict):
    "Replace the block between the markers of BENCHMARKS.md with the last table and the machine."
    block = '\n'.join([MD_BEGIN, f"Last run: {info['finished']} ({info['wall_minutes']:.1f} min; repeats per case in the table).  " +
                       (f"Merged: {info['merged']}.  " if info.get('merged') else ''),
                       f"Machine: {machine_line(m)}.  ", f"Load average (1 min): {info['load']} (quiet: {info['quiet']}).", '',
                       table(records), '', notes(records).replace('\n', '  \n'), MD_END])
    text = path.read_text() if path.exists() else f'# Benchmarks\n\n{MD_BEGIN}\n{MD_END}\n'
    if MD_BEGIN not in text or MD_END not in text: raise ValueError(f"{path} lacks the markers {MD_BEGIN!r} ... {MD_END!r}")
    head, rest = text.split(MD_BEGIN, 1)
    atomic_write(path, head + block + rest.split(MD_END, 1)[1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[2:]))
    ap.add_argument('--quick', action='store_true', help='smoke test: 1 repeat, last 4 layers, small N (ratios not representative)')
    ap.add_argument('--smoke', action='store_true', help='every case on a tiny model (implies --quick); writes only bench/_out/')
    ap.add_argument('--repeats', type=int, default=None, help='timed repeats per case after the warm-up (default 5; 1 with --quick)')
    ap.add_argument('--cases', default=','.join(CASES), help=f'comma-separated subset of {",".join(CASES)} (efficiency needs ig)')
    ap.add_argument('--out', type=Path, default=None, help='results file (default bench/results.json; bench/results.quick.json with --quick)')
    ap.add_argument('--no-markdown', action='store_true', help='do not update the table in BENCHMARKS.md')
    ap.add_argument('--resume', action='store_true', help='take the cases a stopped run finished from bench/_out/<results>.partial.json')
    ap.add_argument('--merge', action='store_true', help='replace only the measured cases in the existing results (with --cases)')
    a = ap.parse_args(argv)
    if a.smoke:
        import os, common; os.environ['BENCH_SMOKE'] = '1'; common.SMOKE = True   # child processes read the environment
        a.quick, a.no_markdown = True, True
        if a.out is None: a.out = HERE / '_out' / 'results.smoke.json'; a.out.parent.mkdir(exist_ok=True)
    cases = [c.strip() for c in a.cases.split(',') if c.strip()]
    bad = [c for c in cases if c not in CASES]
    if bad: ap.error(f"unknown case(s) {bad}; choose from {CASES}")
    if 'efficiency' in cases and 'ig' not in cases: ap.error("the efficiency case uses the ig case's timings: add ig to --cases")
    repeats = a.repeats if a.repeats is not None else (1 if a.quick else 5)
    if repeats < 1: ap.error(f"--repeats must be >= 1, got {repeats}")
    out = a.out or HERE / ('results.quick.json' if a.quick else 'results.json')

    import torch, ig, ablation, memory, efficiency, conductance, ig_converged, conductance_converged, scaling, streaming, patching
    torch.manual_seed(0)
    from common import loadavg
    m, t0, records, load_before = machine(), time.time(), [], loadavg()
    log(f"bench: {machine_line(m)}; repeats {repeats}{' (quick)' if a.quick else ''}; cases {cases}")
    partial = HERE / '_out' / f'{out.stem}.partial.json'   # every finished case, written as it ends (git-ignored)
    done = {}
    if a.resume and partial.exists():
        done = json.loads(partial.read_text())['done']
        log(f"resuming: cases {sorted(done)} from {partial}")
    def measure(case, fn, n):
        "Run one case (or take it from the partial file with --resume); each record says how many repeats it ran."
        if case not in done:
            recs = fn()
            recs = recs if isinstance(recs, list) else [recs]
            for r in recs: r.setdefault('repeats', len(r.get('pair_ratios') or []) or n)
            done[case] = recs
            partial.parent.mkdir(exist_ok=True); write_json(partial, dict(done=done, args=vars(a) | {'out': str(out)}))
        records.extend(done[case])
    rates = efficiency.matmul_rate()   # matmul rate samples around every timed case (the machine is shared: load varies)
    for case, fn in (('ig', ig.run), ('ablation', ablation.run), ('memory', memory.run)):
        if case in cases: measure(case, lambda: fn(repeats, a.quick), repeats); rates += efficiency.matmul_rate()
    if 'efficiency' in cases: measure('efficiency', lambda: efficiency.run(records, rates, a.quick), repeats)
    for case, fn in (('conductance', conductance.run), ('ig_converged', ig_converged.run),
                     ('conductance_converged', conductance_converged.run)):
        if case in cases: measure(case, lambda: fn(repeats, a.quick), repeats)
    one = a.repeats or 1   # minutes per repeat: one unless asked
    if 'scaling' in cases: measure('scaling', lambda: scaling.run(one, a.quick), one)
    if 'streaming' in cases: measure('streaming', lambda: streaming.run(one, a.quick), one)
    if 'patching' in cases: measure('patching', lambda: patching.run(repeats, a.quick), repeats)
    if 'path_memory' in cases:
        import path_memory; measure('path_memory', lambda: path_memory.run(1, a.quick), 1)   # memory, not time: one repeat
    if 'demo_job' in cases:
        import demo_job; n = a.repeats or (1 if a.quick else 3); measure('demo_job', lambda: demo_job.run(n, a.quick), n)
    if any(c in cases for c in PEERS):
        import peers
        for case in PEERS:
            if case in cases: measure(case, lambda: peers.RUNS[case](repeats, a.quick), repeats)
    info = dict(finished=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), wall_minutes=(time.time() - t0) / 60,
                repeats=repeats, quick=a.quick, load=sorted({l for r in records for l in r['detail'].get('load', []) if l is not None}))
    during = [l for r in records for l in r['detail'].get('load', []) if l is not None]
    info.update(load_before=load_before, load_during=f"{min(during)}..{max(during)}" if during else 'n/a', load_after=loadavg())
    peak = max([l for l in [load_before, info['load_after'], *during] if l is not None], default=0.)
    info['quiet'] = peak <= m['torch_threads'] + 0.5    # a run loaded beyond its own threads + 0.5 is not a committed figure
    info['load'] = f"before {load_before}, during {info['load_during']}, after {info['load_after']}"
    if not info['quiet'] and not a.quick and a.out is None:
        out = HERE / 'results.noisy.json'
        log(f"NOT QUIET: the 1-minute load reached {peak} on {m['torch_threads']} threads (limit {m['torch_threads'] + 0.5}); "
            f"results go to {out.name} and BENCHMARKS.md is left alone")

    extra = lambda r: {**{k: r['detail'][k] for k in ('flops_naive', 'flops_ours', 'flop_ratio') if k in r['detail']},
                       **({'ratio_of_medians': r['ratio_of_medians'], 'ratio_min': min(r['pair_ratios']), 'ratio_max': max(r['pair_ratios'])}
                          if r.get('pair_ratios') else {})}
    if a.merge and out.exists() and out.with_name(out.stem + '.detail.json').exists():
        # a subset of cases re-measured: replace those cases in the existing results, keep the others (each record has its own loads)
        old = json.loads(out.with_name(out.stem + '.detail.json').read_text())
        new_cases = {r['case'] for r in records}
        records = [r for r in old['records'] if r['case'] not in new_cases] + records
        info['merged'] = f"cases {sorted(new_cases)} from this run ({info['finished']}), the others from {old['run']['finished']}"
        for r in records: r.setdefault('quiet', old['run'].get('quiet', True))
    for r in records: r.setdefault('quiet', info['quiet'])
    write_json(out, [{**{k: r.get(k) for k in KEYS}, **extra(r), 'quiet': r['quiet']} for r in records])
    write_json(out.with_name(out.stem + '.detail.json'), dict(machine=m, run=info, records=records))
    partial.unlink(missing_ok=True)   # the run is whole: its records are in the results files
    print(f"\n{machine_line(m)}\nrepeats {repeats}{' (QUICK: not representative)' if a.quick else ''}, "
          f"{info['wall_minutes']:.1f} min, load {info['load']}\n")
    print(table(records)); print('\n' + notes(records)); print(f"\nwrote {out}")
    if not a.quick and not a.no_markdown and info['quiet']:
        update_markdown(ROOT / 'BENCHMARKS.md', records, m, info); print(f"updated {ROOT / 'BENCHMARKS.md'}")
    wrong = [r["case"] for r in records if _correct(r) is False]
    if wrong: sys.exit(f"agreement check FAILED for {wrong}: ours and naive disagree beyond tolerance (see the table)")


if __name__ == '__main__':
    main()
