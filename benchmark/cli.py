"""`claims`: list, validate and test claims, render the report, gate on regressions.

    claims list                          every claim with its paper, test kind and version
    claims validate [FILES...]           parse and check claim files (all by default)
    claims test ID|FILE --evidence CSV   run a claim's test on your own evidence table [--json] [--figure PNG] [--scale S]
    claims kinds                         the test kinds and their parameters
    claims power ID --evidence PILOT.CSV replicates for the claim's power and precision, from a pilot
    claims report                        re-render reports/ from the verdict files
    claims gate --baseline reports/baseline.json [--current reports/claims.json]
                                         fail on a changed verdict, fewer replicates than designed,
                                         a NaN estimate or a reason of another category
    claims baseline                      write reports/baseline.json from reports/claims.json
    claims draws FIRST.json SECOND.json  two draws side by side: verdicts, estimates, interval overlap
    claims audit --model NET.safetensors [--model ...] --arch PKG.MOD:CLASS --data DATA.npz --out DIR
                                         the unit-level probes and every claim they can test, on your networks
    claims dvc-yaml [--check]            write dvc.yaml from benchmark/pipeline/ and claims/ (--check: exit 1
                                         and print the diff when the committed file differs)
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
    from benchmark.stats.design import check_design
    from benchmark.stats.kinds import check_params

    if args.files:
        specs = [(Path(f), load_claim(f)) for f in args.files]
    else:
        specs = list(load_claims().values())
    failed = 0
    for path, spec in specs:
        check_params(spec, path)
        problems = []
        for scale in sorted(spec.scales):
            design = check_design(spec, scale)
            if design is None:
                if scale == "embedded":
                    problems.append("scales.embedded.pilot: no pilot, so the design is not sized "
                                    "(run `claims power` on a pilot with disjoint seeds)")
                continue
            problems += [f"scales.{scale}: {p}" for p in design.problems]
        if problems:
            failed += 1
            for p in problems:
                print(f"FAIL {spec.id} ({path}): {p}")
        else:
            d = check_design(spec, "embedded")
            if d.undecidable:
                print(f"ok  {spec.id} ({path}): declared not decidable at embedded scale: a decision needs "
                      f"{d.needed or 'over 2000'} replicates, {d.replicates} run (verdict always inconclusive)")
                continue
            print(f"ok  {spec.id} ({path}): design power {d.power:.3f}, half-width {d.half_width:.3g} "
                  f"<= {d.precision:.3g} at {d.replicates} replicates")
    return 1 if failed else 0


def _test(args) -> int:
    from benchmark.claims.registry import find_claim
    from benchmark.evaluate import evaluate

    path, spec = find_claim(args.claim)
    result, record = evaluate(path, spec, args.evidence, figure_path=args.figure, scale=args.scale)
    if args.json:
        print(dumps_json(record))
    else:
        r = result
        print(f"{spec.id} (v{spec.version}): {r.verdict.value}: {r.reason}")
        print(f"  estimate {r.estimate:.4g}, {r.ci_level:.0%} CI [{r.ci_low:.4g}, {r.ci_high:.4g}], "
              f"p(support) {r.p_support:.3g}, p(against) {r.p_against:.3g}, observed sensitivity {r.power:.2f}, "
              f"n {r.n} (alpha {spec.test.alpha})")
        for s in r.strata:
            print(f"  {s.name}: {s.estimate:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}] n {s.n}")
        for pre in r.preconditions:
            print(f"  precondition {pre.name}: {pre.column} {pre.value:.4g} {pre.op} {pre.threshold:g}: "
                  f"{'passed' if pre.passed else 'FAILED'}")
        print("  (decided at the claim's own alpha; the suite report adds Holm within the paper and BH q)")
        if args.figure:
            print(f"  figure: {args.figure}")
    return 0


def _power(args) -> int:
    from benchmark.claims.registry import find_claim
    from benchmark.stats.design import precision_target, project, replicates_needed, working_transform
    from benchmark.stats.evidence import check_integrity, read_table
    from benchmark.stats.kinds import run_test
    from benchmark.stats.decide import TRANSFORMS
    from scipy import stats as _st

    path, spec = find_claim(args.claim)
    frame = read_table(args.evidence)
    check_integrity(frame, spec, args.evidence)
    pilot = run_test(frame, spec, path, args.evidence)
    # the working-scale standard error of the weakest stratum, recovered from its interval
    to_w, _ = TRANSFORMS[working_transform(pilot.kind)]
    q = _st.t.ppf(1 - spec.test.alpha, pilot.df)
    se = (to_w(pilot.ci_high) - to_w(pilot.ci_low)) / (2 * q)
    strata = len(pilot.strata) if pilot.details.get("weakest_stratum") is not None and pilot.strata else 1
    test = spec.test
    print(f"{spec.id}: pilot n={pilot.n}, estimate {pilot.estimate:.4g}, working-scale se {se:.4g}, df {pilot.df:g}, "
          f"strata {strata}; target half-width {precision_target(test):.4g}")
    for n in (3, 5, 8, 10, 12, 15, 20, 30, 50):
        _, _, pw, half = project(test, se, pilot.n, pilot.df, strata, n)
        print(f"  n={n:3d}  design power {pw:.3f}  half-width {half:.4g}")
    need = replicates_needed(test, se, pilot.n, pilot.df, strata)
    print(f"  replicates needed for power {test.power} and the target precision: {need or '> 2000'}")
    print("  claim file block (scales.<scale>.pilot), with the pilot's seeds filled in:")
    print(f"    pilot: {{seeds: \"{args.seeds or '?'}\", n: {pilot.n}, se: {se:.4g}, df: {pilot.df:g}, strata: {strata}}}")
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
    print(f"gate: PASS{warned}" if ok else f"gate: FAIL ({n_fail} claim{'s' if n_fail != 1 else ''} differ from the baseline: "
          f"verdict, replicates, NaN estimates or reason; see the FAIL lines){warned}")
    return 0 if ok else 1


def _draws(args) -> int:
    from benchmark.reporting.draws import compare

    rows, share = compare(Path(args.first), Path(args.second))
    print("\n".join(rows))
    print(f"\nestimates inside the other draw's interval: {share:.0%} (about 75% expected for equal-width 90% intervals)")
    return 0


def _baseline(args) -> int:
    from benchmark.gate import write_baseline

    write_baseline(Path(args.current), Path(args.baseline))
    print(f"wrote {args.baseline}")
    return 0


def _audit(args) -> int:
    from benchmark.audit import audit

    kwargs = json.loads(args.arch_kwargs) if args.arch_kwargs else None
    layers = [s for s in args.layers.split(",") if s] if args.layers else None
    res = audit(args.model, args.arch, args.data, args.out, kwargs, layers, args.masks)
    print(f"audit of {len(res['networks'])} network(s), report {res['report_id']}:")
    for t in res["tested"]:
        print(f"  {t['verdict']:>28}  {t['claim_id']}: {t['reason']}")
    for cid, why in sorted(res["not_tested"].items()):
        print(f"  {'not tested':>28}  {cid}: {why}")
    print(f"report: {Path(args.out) / 'report.md'} and {Path(args.out) / 'report.html'}")
    return 0


def _dvc_yaml(args) -> int:
    from benchmark.dvcgen import main as dvcgen_main
    from benchmark.paths import project_root

    return dvcgen_main(project_root(), args.check)


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
    p.add_argument("--scale", choices=("embedded", "paper"), default="embedded",
                   help="the scale whose claim-file settings decide (a scale may declare itself undecidable)")
    p.set_defaults(fn=_test)
    sub.add_parser("kinds").set_defaults(fn=_kinds)
    p = sub.add_parser("power", help="replicates needed, from a pilot evidence table")
    p.add_argument("claim")
    p.add_argument("--evidence", type=Path, required=True)
    p.add_argument("--seeds", help="the pilot's seeds, as written into the claim file (e.g. 100-104)")
    p.set_defaults(fn=_power)
    sub.add_parser("report").set_defaults(fn=_report)
    p = sub.add_parser("gate")
    p.add_argument("--baseline", default="reports/baseline.json")
    p.add_argument("--current", default="reports/claims.json")
    p.add_argument("--only-regressions", action="store_true", help="fail only on reproduced -> other and missing claims")
    p.set_defaults(fn=_gate)
    p = sub.add_parser("draws", help="two draws of the suite side by side (e.g. seed_offset 0 and 1000)")
    p.add_argument("first", help="claims.json of the first draw")
    p.add_argument("second", help="claims.json of the second draw")
    p.set_defaults(fn=_draws)
    p = sub.add_parser("baseline")
    p.add_argument("--baseline", default="reports/baseline.json")
    p.add_argument("--current", default="reports/claims.json")
    p.set_defaults(fn=_baseline)
    p = sub.add_parser("audit", help="the unit-level probes and claim tests on your own networks")
    p.add_argument("--model", type=Path, action="append", required=True,
                   help="safetensors state dict of one network (repeat for replicates)")
    p.add_argument("--arch", required=True, help="'package.module:ClassName' that builds the network")
    p.add_argument("--arch-kwargs", help="JSON keyword arguments for --arch")
    p.add_argument("--data", type=Path, required=True, help=".npz with x_test, y_test (and x_train, y_train)")
    p.add_argument("--masks", type=Path, help=".npz with concept masks (N, K, H, W) for dissection")
    p.add_argument("--layers", help="comma-separated module names whose outputs are units (default: nn.ReLU modules)")
    p.add_argument("--out", type=Path, default=Path("audit"), help="folder for the report (default: audit/)")
    p.set_defaults(fn=_audit)
    p = sub.add_parser("dvc-yaml", help="write dvc.yaml from the pipeline's declarations and the claim files")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 with a diff if dvc.yaml is stale")
    p.set_defaults(fn=_dvc_yaml)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
