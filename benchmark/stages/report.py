"""Collect every claim's verdict record, apply the suite-wide correction, render the report.

    python -m benchmark.stages.report [--section "Title=path.md" ...]
Outputs: reports/claims.json, reports/report.md, reports/report.html, reports/figures/*.png,
reports/claims.tex, reports/references.bib, reports/metrics.json, reports/plots/*.csv
Every output carries the report id (benchmark/reporting/cite.py).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

from benchmark.atomic import read_json, write_bytes, write_json, write_text
from benchmark.claims.registry import load_claims
from benchmark.config import load_params
from benchmark.errors import BenchmarkError
from benchmark.paths import figure_path, project_root, reports_dir, verdict_path
from benchmark.reporting.cite import claims_tex, references_bib, report_id
from benchmark.reporting.forest import forest_png, standardized_row
from benchmark.reporting.render import FOREST, html_page, markdown
from benchmark.stats.suite import finalize
from benchmark.stats.design import check_design
from benchmark.stats.stability import stability
from benchmark.tracking import machine
from benchmark.stages.common import cli
from benchmark.tracking import ledger
from benchmark.tracking.provenance import git_state, package_versions



def strata_design(spec, scale: str) -> dict[str, int] | None:
    """The claim's replicates per stratum at `scale`, keyed as the test names its strata
    ("<strata column> <value>"), or None when the design counts one n."""
    setting = spec.scales.get(scale)
    if setting is None or setting.strata is None:
        return None
    col = spec.test.params["strata"]
    return {f"{col} {value}": n for value, n in setting.strata.items()}

def build_report(scale: str, sections: list[tuple[str, Path]], verdict_files: dict[str, Path] | None = None,
                 claims: dict | None = None) -> dict:
    """The report as data. `verdict_files` (claim id -> verdict JSON) defaults to every claim's
    pipeline verdict; `claims audit` passes its own, for the claims its probes could test."""
    claims = claims if claims is not None else load_claims()
    if verdict_files is None:
        verdict_files = {cid: verdict_path(cid) for cid in claims}
    records = {}
    for cid, path in verdict_files.items():
        if not path.is_file():
            raise BenchmarkError(f"{path}: no verdict for claim {cid!r}; run `dvc repro` (its test_claim stage)")
        records[cid] = read_json(path)
    final = finalize({c: s for c, (_, s) in claims.items()}, records)
    entries = []
    for cid in sorted(records):
        rec, res, fin = records[cid], records[cid]["result"], final[cid]
        run_id = ledger.find_claim_run(cid, rec["stage_hash"])
        ledger.record_final(run_id, fin["verdict"], {k: fin[k] for k in (
            "p_support_holm_paper", "p_against_holm_paper", "q_support_bh", "q_against_bh")})
        design = check_design(claims[cid][1], scale)
        entries.append({
            **fin, "claim": rec["claim"], "estimate": res["estimate"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
            "ci_level": res["ci_level"], "statistic": res["statistic"], "df": res["df"], "power": res["power"],
            "kind": res["kind"], "se": res.get("se", float("nan")), "transform": res.get("transform", "identity"),
            "estimand": res.get("estimand"), "heterogeneity": res.get("heterogeneity"),
            "power_target": rec["claim"]["test"]["power"], "n": res["n"], "strata": res["strata"],
            "preconditions": res.get("preconditions", []),
            "replicates_dropped": len({r for pre in res.get("preconditions", []) if pre.get("on_fail") == "drop"
                                       for r in pre.get("failing", [])}),
            "replicates_design": claims[cid][1].scales[scale].replicates if scale in claims[cid][1].scales else None,
            "replicates_design_strata": strata_design(claims[cid][1], scale),
            "design_power": design.power if design else None,
            "replicates_required": claims[cid][1].test.min_replicates,
            "design_half_width": design.half_width if design else None,
            "design_precision": design.precision if design else None,
            "design_undecidable": design.undecidable if design else None,
            "replicates_needed": design.needed if design else None,
            "replicates": rec["evidence"]["replicates"], "evidence_table": rec["evidence"]["table"],
            "evidence_sha256": rec["evidence"]["sha256"], "mlflow_run_id": run_id,
            "figure": f"figures/{cid}.png",
        })
        stab = stability(entries[-1], claims[cid][1].test, cid)
        entries[-1]["stability"] = stab.to_dict() if stab else None
    # the locked environment, not dvc.lock (which holds this stage's own output hashes)
    lock = project_root() / "requirements.lock"
    if not lock.is_file():
        lock = Path(__file__).resolve().parents[2] / "requirements.lock"
    env = {"git": git_state(), "packages": package_versions(), "machine": dict(machine.current()),
           "requirements_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"}
    rid = report_id(list(verdict_files.values()), {c: claims[c][1].version for c in records}, lock, scale)
    extra = []
    for title, p in sections:
        if not p.is_file():
            raise BenchmarkError(f"{p}: report section {title!r} not found (its stage did not run?)")
        extra.append((title, p.read_text(encoding="utf-8")))
    return {"report_id": rid, "scale": scale, "claims": entries, "environment": env, "extra_sections": extra}


def _suite_version() -> str:
    try:
        return importlib.metadata.version("interp-claims")
    except importlib.metadata.PackageNotFoundError:
        return "0.1.0"


def plot_tables(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Flat tables for `dvc plots`: one row per claim (the forest plot's numbers) and one row per
    claim and stratum (its evidence summary), generic over whatever claims the verdicts hold."""
    rid = report["report_id"]
    forest = [{**standardized_row(e), "report_id": rid} for e in report["claims"]]
    summary = []
    for e in report["claims"]:
        for name, est, lo, hi, n in [("overall", e["estimate"], e["ci_low"], e["ci_high"], e["n"])] + [
                (s["name"], s["estimate"], s["ci_low"], s["ci_high"], s["n"]) for s in e["strata"]]:
            summary.append({"label": f"{e['claim_id']} ({name})", "claim_id": e["claim_id"], "part": name, "estimate": est, "ci_low": lo, "ci_high": hi,
                            "n": n, "verdict": e["verdict"], "report_id": rid})
    return {"forest": forest, "evidence_summary": summary}


def write_report(report: dict[str, Any], out: Path, claim_figures: dict[str, Path]) -> dict[str, Path]:
    """Write every report output into `out`; returns the figures embedded (name -> path)."""
    import pandas as pd

    from benchmark.atomic import write_csv

    rid = report["report_id"]
    figures: dict[str, Path] = {}
    for e in report["claims"]:
        src = claim_figures.get(e["claim_id"])
        if src is not None and src.is_file():
            dst = out / "figures" / f"{e['claim_id']}.png"
            write_bytes(dst, src.read_bytes())
            figures[e["claim_id"]] = dst
    figures[Path(FOREST).name] = forest_png(report["claims"], out / FOREST, rid)
    # section images: `![alt](path relative to the project root)` -> copied into <out>/figures/
    rewritten = []
    for title, text in report["extra_sections"]:
        for src in IMAGE.findall(text):
            path = project_root() / src
            if not path.is_file():
                raise BenchmarkError(f"{path}: image referenced by report section {title!r} is missing")
            dst = out / "figures" / path.name
            write_bytes(dst, path.read_bytes())
            figures[path.name] = dst
            text = text.replace(f"]({src})", f"](figures/{path.name})")
        rewritten.append((title, text))
    report = {**report, "extra_sections": rewritten}
    md = markdown(report, {c: f"figures/{c}.png" for c in figures if not c.endswith(".png")})
    write_text(out / "report.md", md)
    write_text(out / "report.html", html_page(md, figures))
    write_json(out / "claims.json", {k: v for k, v in report.items() if k != "extra_sections"})
    write_text(out / "claims.tex", claims_tex(report["claims"], rid, report["scale"]))
    write_text(out / "references.bib", references_bib(report["claims"], rid, _suite_version()))
    for name, rows in plot_tables(report).items():
        write_csv(out / "plots" / f"{name}.csv", pd.DataFrame(rows))
    # flat numbers for `dvc metrics show/diff` and `dvc exp show` (verdict: 1 reproduced, 0 inconclusive, -1 falsified)
    code = {"reproduced": 1, "inconclusive": 0, "falsified": -1}
    write_json(out / "metrics.json", {"report_id": rid, **{e["claim_id"]: {
        "verdict": code[e["verdict"]], "estimate": e["estimate"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
        "p_support": e["p_support_raw"], "p_against": e["p_against_raw"], "power_observed": e["power"],
        "n": e["n"]} for e in report["claims"]}}, ndigits=6)
    return figures


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--section", action="append", default=[], help="TITLE=PATH of a markdown section to append")
    args = ap.parse_args(argv)
    sections = []
    for s in args.section:
        title, _, path = s.partition("=")
        sections.append((title, project_root() / path))
    params = load_params()
    report = build_report(params["scale"], sections)
    from benchmark.paper.fixtures import fixture_note

    note = fixture_note(params)
    if note:  # paper scale on fixture files: the whole report says so on its first line
        report["fixture_data"] = note
    out = reports_dir()
    write_report(report, out, {e["claim_id"]: figure_path(e["claim_id"]) for e in report["claims"]})
    for e in report["claims"]:
        print(f"{e['verdict']:>12}  {e['claim_id']}  est {e['estimate']:.4g} [{e['ci_low']:.4g}, {e['ci_high']:.4g}] "
              f"p {e['p_support_raw']:.3g}/{e['p_against_raw']:.3g} n {e['n']}")
    print(f"report {report['report_id']}: {out / 'report.md'} and {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
