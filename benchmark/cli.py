"""`claims`: list, validate and test claims, render the report, gate on regressions.

    claims list                          every claim with its paper, test kind and version
    claims validate [FILES...]           parse and check claim files (all by default)
    claims test ID|FILE --evidence CSV   run a claim's test on your own evidence table [--json] [--figure PNG]
    claims kinds                         the test kinds and their parameters
    claims power ID --evidence PILOT.CSV replicates needed for the claim's power, from pilot data
    claims report                        re-render reports/ from the verdict files
    claims gate --baseline reports/baseline.json [--current reports/claims.json]
                                         fail on a changed verdict, fewer replicates than designed,
                                         a NaN estimate or a reason of another category
    claims baseline                      write reports/baseline.json from reports/claims.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmark.atomic import dumps_json
from benchmark.errors import BenchmarkError


def _list(args) -> int:
    from benchmark.claims.registry import load_claims

    for cid, (path, spec) in load_claims().items():
        print(f"{cid:55s} v{spec.version}  {spec.test.kind:22s} {spec.paper.where}  ({path.name})")
    return 0


def _validate(args) -> int:
    from benchmark.claims.registry import load_claim, load_claims
    from benchmark.stats.kinds import check_params

    if args.files:
        specs = [(Path(f), load_claim(f)) for f in args.files]
    else:
        specs = list(load_claims().values())
    for path, spec in specs:
        check_params(spec, path)
        print(f"ok  {spec.id} ({path})")
    return 0


def _test(args) -> int:
    from benchmark.claims.registry import find_claim
    from benchmark.evaluate import evaluate

    path, spec = find_claim(args.claim)
    result, record = evaluate(path, spec, args.evidence, figure_path=args.figure)
    if args.json:
        print(dumps_json(record))
    else:
        r = result
        print(f"{spec.id} (v{spec.version}): {r.verdict.value}: {r.reason}")
        print(f"  estimate {r.estimate:.4g}, {r.ci_level:.0%} CI [{r.ci_low:.4g}, {r.ci_high:.4g}], "
              f"p(support) {r.p_support:.3g}, p(against) {r.p_against:.3g}, power {r.power:.2f} "
              f"(target {spec.test.power}), n {r.n}")
        for s in r.strata:
            print(f"  {s.name}: {s.estimate:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}] n {s.n}")
        print("  (single claim: raw p-values; the suite report applies Holm across claims)")
        if args.figure:
            print(f"  figure: {args.figure}")
    return 0


def _power(args) -> int:
    from benchmark.claims.registry import find_claim
    from benchmark.stats.evidence import check_integrity, read_table
    from benchmark.stats.kinds import run_test
    from benchmark.stats.decide import TRANSFORMS
    from benchmark.stats.planning import plan

    path, spec = find_claim(args.claim)
    frame = read_table(args.evidence)
    check_integrity(frame, spec, args.evidence)
    pilot = run_test(frame, spec, path, args.evidence)
    # recover the working-scale standard error from the interval
    to_w, _ = TRANSFORMS["fisher_z" if pilot.kind == "replicate_correlation" else "identity"]
    from scipy import stats as _st
    q = _st.t.ppf(1 - spec.test.alpha, pilot.df)
    se = (to_w(pilot.ci_high) - to_w(pilot.ci_low)) / (2 * q)
    p = plan(pilot, spec.test, se)
    print(f"{spec.id}: pilot n={p.pilot_n}, estimate {pilot.estimate:.4g}, working-scale se {se:.4g}")
    for n in (3, 5, 8, 10, 12, 15, 20, 30, 50):
        print(f"  n={n:3d}  power {p.power_at[n]:.3f}  P(reproduced at the design point) {p.verdict_power_at[n]:.3f}")
    print(f"  replicates needed for power {spec.test.power}: {p.needed_n or '> 200'}")
    print(f"  replicates needed for P(reproduced) {spec.test.power} (the verdict's power gate included): "
          f"{p.needed_n_verdict or '> 200'}")
    return 0


def _kinds(args) -> int:
    from benchmark.stats.kinds import KINDS

    for name, kind in sorted(KINDS.items()):
        print(f"{name:24s} {kind.doc}\n{'':24s} required params: {', '.join(kind.required_params)}")
    return 0


def _report(args) -> int:
    from benchmark.stages.report import main as report_main

    return report_main([])


def _gate(args) -> int:
    from benchmark.gate import compare

    ok, lines = compare(Path(args.baseline), Path(args.current), args.only_regressions)
    print("\n".join(lines))
    n_fail = len({ln.split(":")[0] for ln in lines if ln.startswith("FAIL")})
    n_warn = sum(ln.startswith("warn") for ln in lines)
    warned = f" ({n_warn} warnings)" if n_warn else ""
    print(f"gate: PASS{warned}" if ok else f"gate: FAIL ({n_fail} claims differ from the baseline: "
          f"verdict, replicates, NaN estimates or reason; see the FAIL lines){warned}")
    return 0 if ok else 1


def _baseline(args) -> int:
    from benchmark.gate import write_baseline

    write_baseline(Path(args.current), Path(args.baseline))
    print(f"wrote {args.baseline}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="claims", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list").set_defaults(fn=_list)
    p = sub.add_parser("validate")
    p.add_argument("files", nargs="*")
    p.set_defaults(fn=_validate)
    p = sub.add_parser("test")
    p.add_argument("claim", help="claim id or claim file")
    p.add_argument("--evidence", type=Path, help="CSV evidence table (default: the pipeline's)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--figure", type=Path, help="write the evidence figure (PNG) here")
    p.set_defaults(fn=_test)
    sub.add_parser("kinds").set_defaults(fn=_kinds)
    p = sub.add_parser("power", help="replicates needed, from a pilot evidence table")
    p.add_argument("claim")
    p.add_argument("--evidence", type=Path, required=True)
    p.set_defaults(fn=_power)
    sub.add_parser("report").set_defaults(fn=_report)
    p = sub.add_parser("gate")
    p.add_argument("--baseline", default="reports/baseline.json")
    p.add_argument("--current", default="reports/claims.json")
    p.add_argument("--only-regressions", action="store_true", help="fail only on reproduced -> other and missing claims")
    p.set_defaults(fn=_gate)
    p = sub.add_parser("baseline")
    p.add_argument("--baseline", default="reports/baseline.json")
    p.add_argument("--current", default="reports/claims.json")
    p.set_defaults(fn=_baseline)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
