"""Collect every claim's verdict record, apply the suite-wide correction, render the report.

    python -m benchmark.stages.report [--section "Title=path.md" ...]
Outputs: reports/claims.json, reports/report.md, reports/report.html, reports/figures/*.png
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

from benchmark.atomic import read_json, write_bytes, write_json, write_text
from benchmark.claims.registry import load_claims
from benchmark.config import load_params
from benchmark.errors import BenchmarkError
from benchmark.paths import figure_path, project_root, reports_dir, verdict_path
from benchmark.reporting.render import html_page, markdown
from benchmark.reporting.suite import finalize
from benchmark.stats.design import check_design
from benchmark.stages.common import cli
from benchmark.tracking import ledger
from benchmark.tracking.provenance import git_state, package_versions


def build_report(scale: str, sections: list[tuple[str, Path]]) -> dict:
    claims = load_claims()
    records = {}
    for cid in claims:
        path = verdict_path(cid)
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
            "power_target": rec["claim"]["test"]["power"], "n": res["n"], "strata": res["strata"],
            "preconditions": res.get("preconditions", []),
            "replicates_dropped": len({r for pre in res.get("preconditions", []) if pre.get("on_fail") == "drop"
                                       for r in pre.get("failing", [])}),
            "replicates_design": claims[cid][1].scales[scale].replicates if scale in claims[cid][1].scales else None,
            "design_power": design.power if design else None,
            "design_half_width": design.half_width if design else None,
            "design_precision": design.precision if design else None,
            "replicates": rec["evidence"]["replicates"], "evidence_table": rec["evidence"]["table"],
            "evidence_sha256": rec["evidence"]["sha256"], "mlflow_run_id": run_id,
            "figure": f"figures/{cid}.png",
        })
    lock = project_root() / "dvc.lock"
    env = {"git": git_state(), "packages": package_versions(),
           "dvc_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"}
    extra = []
    for title, p in sections:
        if not p.is_file():
            raise BenchmarkError(f"{p}: report section {title!r} not found (its stage did not run?)")
        extra.append((title, p.read_text(encoding="utf-8")))
    return {"scale": scale, "claims": entries, "environment": env, "extra_sections": extra}


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
    out = reports_dir()
    figures = {}
    for e in report["claims"]:
        src = figure_path(e["claim_id"])
        if src.is_file():
            dst = out / "figures" / f"{e['claim_id']}.png"
            write_bytes(dst, src.read_bytes())
            figures[e["claim_id"]] = dst
    # section images: `![alt](path relative to the project root)` -> copied into reports/figures/
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
    report["extra_sections"] = rewritten
    md = markdown(report, {c: f"figures/{c}.png" for c in figures if not c.endswith(".png")})
    write_text(out / "report.md", md)
    write_text(out / "report.html", html_page(md, figures))
    write_json(out / "claims.json", {k: v for k, v in report.items() if k != "extra_sections"})
    # flat numbers for `dvc metrics show/diff` and `dvc exp show` (verdict: 1 reproduced, 0 inconclusive, -1 falsified)
    code = {"reproduced": 1, "inconclusive": 0, "falsified": -1}
    write_json(out / "metrics.json", {e["claim_id"]: {
        "verdict": code[e["verdict"]], "estimate": e["estimate"], "ci_low": e["ci_low"], "ci_high": e["ci_high"],
        "p_support": e["p_support_raw"], "p_against": e["p_against_raw"], "power_observed": e["power"],
        "n": e["n"]} for e in report["claims"]}, ndigits=6)
    for e in report["claims"]:
        print(f"{e['verdict']:>12}  {e['claim_id']}  est {e['estimate']:.4g} [{e['ci_low']:.4g}, {e['ci_high']:.4g}] "
              f"p {e['p_support_raw']:.3g}/{e['p_against_raw']:.3g} n {e['n']}")
    print(f"report: {out / 'report.md'} and {out / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
