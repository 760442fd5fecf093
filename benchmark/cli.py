"""`claims`: list, validate and test claims, render the report, gate on regressions.

    claims list                          every claim with its paper, test kind and version
    claims validate [FILES|DIRS...]      check claim files (all by default) and params.yaml as a whole
    claims test ID|FILE --evidence CSV   run a claim's test on your own evidence table [--json] [--figure PNG] [--scale S]
    claims kinds                         the test kinds and their parameters
    claims power ID --evidence PILOT.CSV replicates for the claim's power and precision, from a pilot
    claims report [--from auto|verdicts|reports]
                                         re-render reports/ from the verdict files, or from reports/ itself
    claims exps [EXP ...] [--only-changed]
                                         experiments' verdicts side by side, one row per claim
    claims verify [REPORTS]              re-derive every verdict, interval and the report id from the
                                         evidence reports/ publishes (exit 1 on any mismatch)
    claims gate [--baseline reports/baselines] [--current reports/claims.json]
                                         exact against the baseline of the verdicts' machine class, or
                                         statistical (estimates within a new draw's spread) on another class
    claims baseline                      write reports/baselines/<machine class>.json from reports/claims.json
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


class ArgumentError(BenchmarkError):
    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(f"argument {argument}: {message}")


def _seed_list(text: str) -> str:
    """--seeds: a seed list as claim files write it ("100-104", "1, 3, 5-8")."""
    from benchmark.claims.seeds import parse_seeds

    try:
        parse_seeds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _figure_file(text: str) -> Path:
    """--figure: a .png file to (over)write, in a folder that exists or can be made."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file name such as {path / 'figure.png'}")
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text}: the figure is a PNG, name it *.png")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(f"{text}: {parent} is a file, not a folder")
            break
    return path


def _list(args) -> int:
    from benchmark.claims.registry import load_claims

    for cid, (path, spec) in load_claims().items():
        print(f"{cid:55s} v{spec.version}  {spec.test.kind:22s} {spec.paper.where}  ({path.name})")
    return 0


def _project_params() -> dict | None:
    """The project's params.yaml, validated as a whole (None where there is none: a claim file
    checked outside a project)."""
    from benchmark.config import load_params
    from benchmark.paths import project_root

    path = project_root() / "params.yaml"
    return load_params(path) if path.exists() else None


def _validate(args) -> int:
    from benchmark.claims.registry import SUFFIXES, load_claim, load_claims
    from benchmark.claims.seeds import check_pilots
    from benchmark.stats.design import check_design

    specs = []
    for f in map(Path, args.files):  # claim files, or directories of them
        folder = f.is_dir() and f.suffix not in SUFFIXES  # a directory named x.yaml is refused as a claim file
        specs += list(load_claims(f).values()) if folder else [(f, load_claim(f))]
    if not args.files:
        specs = list(load_claims().values())
    params = _project_params()
    if params is not None:
        print(f"ok  {params['_path']}: every section, both scales")
    failed = 0
    for path, spec in specs:
        if params is not None:
            check_pilots(path, spec, params)
        problems = [f"{field}: missing (a claim on trial quotes its paper (source.quote, source.where), says whether it "
                    f"is the paper's claim or the suite's extension (scope), and where its smallest effect comes from "
                    f"(sesoi_source: paper | convention))" for field in spec.missing_trial_fields()]
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
    from benchmark.evaluate import evaluate, table_of

    path, spec = find_claim(args.claim)
    result, record = evaluate(path, spec, args.evidence, scale=args.scale)
    if args.figure:
        from benchmark.reporting.figures import claim_figure
        from benchmark.stats.evidence import read_table

        claim_figure(read_table(table_of(spec, args.evidence)), spec, result, args.figure)
    final, notes = _suite_step(spec, record, args.scale)
    unpaired = result.details.get("unpaired")
    if args.json:
        print(dumps_json({**record, "final": final, "notes": notes}))
    else:
        r = result
        print(f"{spec.id} (v{spec.version}): {final['verdict']}: {final['reason']}")
        if final["verdict"] != r.verdict.value:
            print(f"  (the claim's own test says {r.verdict.value}: {r.reason})")
        for note in notes:
            print(f"  {note}")
        if r.heterogeneity:
            print(f"  {r.heterogeneity}")
        print(f"  estimate {r.estimate:.4g}, {r.ci_level:.0%} CI [{r.ci_low:.4g}, {r.ci_high:.4g}], "
              f"p(support) {r.p_support:.3g}, p(against) {r.p_against:.3g}, observed sensitivity {r.power:.2f}, "
              f"n {r.n} (alpha {spec.test.alpha})")
        if r.estimand:
            print(f"  estimand {r.estimand}" + (f"; {r.details['interval_rule']}" if r.details.get("interval_rule") else ""))
        for s in r.strata:
            print(f"  {s.name}: {s.estimate:.4g} [{s.ci_low:.4g}, {s.ci_high:.4g}] n {s.n}"
                  + (f", {s.verdict} alone at alpha {spec.test.alpha}" if s.verdict else ""))
        if unpaired:  # paired_difference: replicates lacking a treatment or a control row
            per = unpaired if isinstance(unpaired, dict) else {}
            total = sum(per.values()) if per else int(unpaired)
            where = " (" + ", ".join(f"{k}: {v}" for k, v in per.items() if v) + ")" if per else ""
            if total:
                print(f"  left out: {total} unpaired replicate{'s' if total != 1 else ''}{where}, with treatment "
                      f"rows and no control rows or the reverse")
        for pre in r.preconditions:
            print(f"  precondition {pre.name}: {pre.column} {pre.value:.4g} {pre.op} {pre.threshold:g}: "
                  f"{'passed' if pre.passed else 'FAILED'}")
        print("  (decided at the claim's own alpha; the suite report adds Holm within the paper and BH q)")
        if args.figure:
            print(f"  figure: {args.figure}")
    return 0


def _suite_step(spec, record: dict, scale: str) -> tuple[dict, list[str]]:
    """The claim's final verdict as the suite decides it (benchmark.stats.suite): `requires`
    applied when the required claims' pipeline verdicts are at hand, and notes on what could not
    be applied or falls short of the design."""
    from benchmark.atomic import read_json
    from benchmark.claims.registry import load_claims
    from benchmark.paths import verdict_path
    from benchmark.stats.suite import finalize

    notes = []
    specs, records, todo = {spec.id: spec}, {spec.id: record}, list(spec.requires)
    known = None
    while todo:
        req = todo.pop()
        if req in records:
            continue
        if known is None:
            try:
                known = {cid: s for cid, (_, s) in load_claims().items()}
            except BenchmarkError:  # outside a project (bring-your-own evidence): no pipeline verdicts
                known = {}
        path = verdict_path(req)
        if req not in known or not path.is_file():
            notes.append(f"requires {req}: no pipeline verdict at hand ({path}); the verdict above does not "
                         "apply that manipulation check yet")
            continue
        specs[req], records[req] = known[req], read_json(path)
        todo += list(known[req].requires)
    applied = [r for r in spec.requires if r in records]
    final = finalize(specs, records)[spec.id]
    if applied:
        notes.append("requires " + ", ".join(f"{r} ({finalize(specs, records)[r]['verdict']}, from {verdict_path(r)})"
                                             for r in applied))
    setting = spec.scales.get(scale)
    n = record["result"]["n"]
    if setting is not None and n < setting.replicates:
        notes.append(f"warning: {n} replicates, fewer than the {setting.replicates} of the claim's {scale}-scale design: "
                     "the design's power and precision do not hold for this table")
    return final, notes


def _power(args) -> int:
    from benchmark.claims.registry import find_claim
    from benchmark.stats.design import precision_target, project, replicates_needed
    from benchmark.stats.evidence import check_integrity, read_table
    from benchmark.stats.kinds import run_test
    from benchmark.claims.seeds import shared_seeds

    path, spec = find_claim(args.claim)
    if args.seeds:
        params = _project_params()
        for scale in spec.scales:
            shared = shared_seeds(args.seeds, spec.evidence.experiment, scale, params) if params else []
            if shared:
                raise ArgumentError("--seeds", f"{args.seeds!r} shares seeds {shared[:10]} with the verdict's networks "
                                               f"at scale {scale} (params experiments.{spec.evidence.experiment}."
                                               f"{scale}.seeds): a pilot must be other networks")
    frame = read_table(args.evidence)
    check_integrity(frame, spec, args.evidence)
    pilot = run_test(frame, spec, path, args.evidence)
    # the working-scale standard error: for a claim that must hold in every stratum, the noisiest
    # stratum's (every stratum must reject; the design is sized so that the noisiest one can)
    every = pilot.estimand == "every_stratum"
    noisiest = max(pilot.strata, key=lambda s: s.se) if every else None
    se, df, n_pilot = (noisiest.se, noisiest.df, noisiest.n) if every else (pilot.se, pilot.df, pilot.n)
    strata = len(pilot.strata) if every else 1
    test = spec.test
    print(f"{spec.id}: pilot n={n_pilot}, estimate {pilot.estimate:.4g}, working-scale se {se:.4g}, df {df:g}, "
          f"strata {strata}{f' (noisiest: {noisiest.name})' if every else ''}; target half-width {precision_target(test):.4g}")
    for n in (3, 5, 8, 10, 12, 15, 20, 30, 50):
        _, _, pw, half = project(test, se, n_pilot, df, strata, n)
        print(f"  n={n:3d}  design power {pw:.3f}  half-width {half:.4g}")
    need = replicates_needed(test, se, n_pilot, df, strata)
    print(f"  replicates needed for power {test.power} and the target precision: {need or '> 2000'}")
    print("  claim file block (scales.<scale>.pilot), with the pilot's seeds filled in:")
    print(f"    pilot: {{seeds: \"{args.seeds or '?'}\", n: {n_pilot}, se: {se:.4g}, df: {df:g}, strata: {strata}}}")
    return 0


def _kinds(args) -> int:
    from benchmark.stats.kinds import KINDS

    for name, kind in sorted(KINDS.items()):
        print(f"{name:24s} {kind.doc}\n{'':24s} required params: {', '.join(kind.required_params)}"
              f"\n{'':24s} other params: {', '.join(kind.optional_params) or 'none'}")
    return 0


def _report(args) -> int:
    """From the verdict files when the pipeline has run (with the report stage's own arguments,
    from dvc.yaml), otherwise from what reports/ publishes (a fresh clone)."""
    import shlex

    import yaml

    from benchmark.claims.registry import load_claims
    from benchmark.paths import project_root, verdict_path
    from benchmark.reporting.report import main as report_main

    source = args.source
    if source == "auto":
        have = [verdict_path(cid).is_file() for cid in load_claims()]
        source = "verdicts" if any(have) else "reports"
    if source == "reports":
        return report_main(["--published"])
    stage = (yaml.safe_load((project_root() / "dvc.yaml").read_text()) or {}).get("stages", {}).get("report", {})
    words = shlex.split(stage.get("cmd", ""))
    return report_main(words[3:] if words[:3] == ["python", "-m", "benchmark.stages.report"] else [])


def _exps(args) -> int:
    from benchmark.reporting.exps import experiments, load_shown, select, table

    exps = select(experiments(load_shown(args.json)), args.exps)
    print("\n".join(table(exps, args.only_changed, args.width)))
    return 0


def _verify(args) -> int:
    from benchmark.reporting.verify import main_verify

    return main_verify(Path(args.reports))


def _gate(args) -> int:
    from benchmark.gate import run_gate

    mode = None if args.mode == "auto" else args.mode
    r = run_gate(Path(args.baseline), Path(args.current), args.only_regressions, tuple(args.allow_new), mode)
    print("\n".join(r.lines))
    n_fail = len({ln.split(":")[0] for ln in r.lines if ln.startswith("FAIL")})
    n_warn = sum(ln.startswith("warn") for ln in r.lines)
    warned = f" ({n_warn} warnings)" if n_warn else ""
    print(f"gate: PASS in {r.mode} mode{warned}" if r.ok else
          f"gate: FAIL in {r.mode} mode ({n_fail} claim{'s' if n_fail != 1 else ''} differ from the baseline: "
          f"verdict, replicates, NaN estimates, reason or estimates; see the FAIL lines){warned}")
    return 0 if r.ok else 1


def _draws(args) -> int:
    from benchmark.reporting.draws import compare, summary_lines

    c = compare(Path(args.first), Path(args.second))
    print("\n".join(c.rows))
    print()
    print("\n".join(summary_lines(c)))
    return 0


def _baseline(args) -> int:
    from benchmark.gate import write_baseline

    written = write_baseline(Path(args.current), Path(args.baseline))
    print(f"wrote {written}")
    return 0


def _audit(args) -> int:
    from benchmark.audit import audit

    layers = [s.strip() for s in args.layers.split(",") if s.strip()] if args.layers else None
    probes = [s.strip() for s in args.probes.split(",") if s.strip()] if args.probes else None
    res = audit(args.model, args.arch, args.data, args.out, args.arch_kwargs, layers, args.masks, args.meta,
                probes, args.probe_params)
    print(f"audit of {len(res['networks'])} network(s), probes {', '.join(res['probes'])}, "
          f"units at {', '.join(res['units'])}; report {res['report_id']}:")
    for t in res["tested"]:
        print(f"  {t['verdict']:>28}  {t['claim_id']}: {t['reason']} "
              f"[{t['replicates_given']} given, the claim's design: {t['replicates_design']}]")
    for cid, why in sorted(res["not_tested"].items()):
        print(f"  {'not tested':>28}  {cid}: {why}")
    if not res["tested"]:
        print(f"no claim could be tested on these networks; the probes' tables are in {Path(args.out) / 'evidence'}")
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
    p.add_argument("--figure", type=_figure_file, help="write the evidence figure (PNG) here")
    p.add_argument("--scale", choices=("embedded", "paper"), default="embedded",
                   help="the scale whose claim-file settings decide (a scale may declare itself undecidable)")
    p.set_defaults(fn=_test)
    sub.add_parser("kinds").set_defaults(fn=_kinds)
    p = sub.add_parser("power", help="replicates needed, from a pilot evidence table")
    p.add_argument("claim")
    p.add_argument("--evidence", type=Path, required=True)
    p.add_argument("--seeds", type=_seed_list,
                   help="the pilot's seeds, as written into the claim file (e.g. 100-104); disjoint from the verdict's")
    p.set_defaults(fn=_power)
    p = sub.add_parser("report", help="re-render reports/ (from verdicts/, or on a fresh clone from reports/ itself)")
    p.add_argument("--from", dest="source", choices=("auto", "verdicts", "reports"), default="auto",
                   help="verdicts: the pipeline's verdict files and sections; reports: the verdict records and "
                        "evidence reports/ publishes; auto (default): verdicts when any exist")
    p.set_defaults(fn=_report)
    p = sub.add_parser("exps", help="experiments' verdicts side by side (from `dvc exp show --json`)")
    p.add_argument("exps", nargs="*", help="experiment or branch names, `workspace` or revs (default: all)")
    p.add_argument("--json", help="read saved `dvc exp show --json` output ('-' for stdin) instead of running it")
    p.add_argument("--only-changed", action="store_true", help="only the claims whose verdict differs")
    p.add_argument("--width", type=int, default=200, help="the widest line (default 200 columns)")
    p.set_defaults(fn=_exps)
    p = sub.add_parser("verify", help="re-derive every verdict, interval and the report id from reports/ and claims/")
    p.add_argument("reports", nargs="?", default="reports", help="the published report folder (default: reports)")
    p.set_defaults(fn=_verify)
    p = sub.add_parser("gate")
    p.add_argument("--baseline", default="reports/baselines",
                   help="the folder of per-machine-class baselines (default), or one baseline file")
    p.add_argument("--current", default="reports/claims.json")
    p.add_argument("--only-regressions", action="store_true", help="fail only on reproduced -> other and missing claims")
    p.add_argument("--mode", choices=("auto", "exact", "statistical"), default="auto",
                   help="auto (default): exact against a baseline of the current verdicts' machine class, else statistical")
    p.add_argument("--allow-new", action="append", default=[], metavar="CLAIM_ID",
                   help="a claim absent from the baseline that may pass as new (repeat)")
    p.set_defaults(fn=_gate)
    p = sub.add_parser("draws", help="two draws of the suite side by side (e.g. seed_offset 0 and 1000)")
    p.add_argument("first", help="claims.json of the first draw")
    p.add_argument("second", help="claims.json of the second draw")
    p.set_defaults(fn=_draws)
    p = sub.add_parser("baseline")
    p.add_argument("--baseline", default="reports/baselines",
                   help="the folder of per-machine-class baselines (default: the file is named by the class), or a file")
    p.add_argument("--current", default="reports/claims.json")
    p.set_defaults(fn=_baseline)
    p = sub.add_parser("audit", help="the unit-level probes and claim tests on your own networks")
    p.add_argument("--model", type=Path, action="append", required=True,
                   help="one network: a safetensors or torch state dict (.pt/.pth), or a Hugging Face directory "
                        "(repeat for replicates)")
    p.add_argument("--arch", help="what builds the network: 'package.module:Class', 'path/to/file.py:Class' or "
                                  "'torchvision:NAME' (an nn.Module subclass or a torchvision builder; a Hugging Face "
                                  "directory needs none)")
    p.add_argument("--arch-kwargs", help="JSON keyword arguments for --arch")
    p.add_argument("--data", type=Path, required=True,
                   help=".npz with x_test, y_test (and x_train, y_train), or .json sentences for a text encoder")
    p.add_argument("--masks", type=Path, help=".npz with concept masks (N, K, S, S) for dissection")
    p.add_argument("--layers", help="comma-separated module paths whose outputs are units, as named_modules() names "
                                    "them (default: activation outputs per block; a transformer's layers)")
    p.add_argument("--meta", type=Path, help="JSON metadata per --model: {file: {seed, label_noise, model, train_labels}}")
    p.add_argument("--probes", help="comma-separated probes (default: unit_ablation,cumulative_ablation[,dissection]; "
                                    "word_information for a text encoder; feature_vis on request)")
    p.add_argument("--probe-params", help="JSON settings per probe, e.g. '{\"feature_vis\": {\"steps\": 64}}'")
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
