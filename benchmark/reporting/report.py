"""Collect every claim's verdict record, apply the suite-wide correction, render the report.

    python -m benchmark.stages.report [--section "Title=path.md" ...] [--plot-table NAME=path.csv ...]
    python -m benchmark.stages.report --published   (re-render from reports/ alone: `claims report` on a fresh clone)
Outputs: reports/claims.json (verdicts, and the verdict records and sections that re-derive them),
reports/evidence/ (every claim's evidence table, benchmark/reporting/evidence_bundle.py),
reports/report.md, reports/report.html, reports/figures/*.png, reports/claims.tex,
reports/references.bib, reports/metrics.json and reports/verdicts.json (for `dvc metrics`/`dvc exp
show`), reports/plots/*.csv (for `dvc plots`). Every output carries the report id
(benchmark/reporting/cite.py), which hashes the published evidence too.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

from benchmark.atomic import dumps_json, read_json, write_bytes, write_json, write_text
from benchmark.claims.registry import load_claims
from benchmark.config import load_params
from benchmark.errors import BenchmarkError
from benchmark.paths import project_root, reports_dir, verdict_path
from benchmark.reporting.cite import claims_tex, references_bib, report_id_from
from benchmark.reporting.evidence_bundle import Published, check_published, publish_evidence
from benchmark.reporting import instruments
from benchmark.reporting.forest import forest_png, standardized_row
from benchmark.reporting.render import FOREST, html_page, markdown
from benchmark.reporting.published import read_published
from benchmark.stats.suite import finalize  # the suite-level decision (one decision path: benchmark.stats)
from benchmark.stats.design import check_design
from benchmark.stats.stability import stability
from benchmark.tracking import machine
from benchmark.steps import cli, run_tags
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


def load_records(verdict_files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Claim id -> verdict record. Each record must re-serialize to its file's bytes: the report
    id hashes those bytes, and `claims verify` re-derives them from the copy in claims.json."""
    records = {}
    for cid, path in verdict_files.items():
        if not path.is_file():
            raise BenchmarkError(f"{path}: no verdict for claim {cid!r}; run `dvc repro` (its test_claim stage)")
        records[cid] = read_json(path)
        if dumps_json(records[cid]).encode() != path.read_bytes():
            raise BenchmarkError(f"{path}: not written by the suite's JSON writer (benchmark.atomic.write_json); "
                                 "its bytes cannot be re-derived from the report, so it is not published")
    return records


def environment() -> dict[str, Any]:
    """This machine's environment: git state, package versions, requirements.lock's sha256 (the
    locked environment, not dvc.lock, which holds this stage's own output hashes)."""
    lock = project_root() / "requirements.lock"
    if not lock.is_file():
        lock = Path(__file__).resolve().parents[2] / "requirements.lock"
    return {"git": git_state(), "packages": package_versions(), "machine": dict(machine.current()),
            "requirements_lock_sha256": hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"}


def ledger_items(records: dict[str, dict[str, Any]], claims: dict, figures: dict[str, Path]) -> list[dict[str, Any]]:
    """Each claim test as MLflow records it: params, metrics, tags, artifacts (from its verdict record)."""
    items = []
    for cid, rec in sorted(records.items()):
        res, spec = rec["result"], claims[cid][1]
        table = project_root() / rec["evidence"]["table"]
        items.append({
            "claim_id": cid, "stage_hash": rec["stage_hash"],
            "params": {"test": spec.test.model_dump_json(), "evidence_table": rec["evidence"]["table"],
                       "evidence_sha256": rec["evidence"]["sha256"]},
            "metrics": {k: res[k] for k in ("estimate", "ci_low", "ci_high", "power", "n", "statistic")}
            | {"p_support_raw": res["p_support"], "p_against_raw": res["p_against"]},
            "tags": {**run_tags(f"test_claim@{cid}", rec["stage_hash"]), "verdict_raw": res["verdict"],
                     "claim_version": str(rec["version"]), "test_kind": res["kind"], "scale": str(rec.get("scale"))},
            "artifacts": [p for p in (table, figures.get(cid), verdict_path(cid)) if p is not None]})
    return items


def draw_figures(records: dict[str, dict[str, Any]], claims: dict, out: Path) -> dict[str, Path]:
    """Each claim's evidence figure (benchmark.reporting.figures.claim_figure), drawn from its table
    and its recorded result into `out`/figures/: one process for every claim."""
    from benchmark.reporting.figures import claim_figure
    from benchmark.stats.evidence import read_table
    from benchmark.stats.result import TestResult

    figures = {}
    for cid, rec in sorted(records.items()):
        dst = out / "figures" / f"{cid}.png"
        claim_figure(read_table(project_root() / rec["evidence"]["table"]), claims[cid][1],
                     TestResult.from_dict(rec["result"]), dst)
        figures[cid] = dst
    return figures


def build_report(scale: str, sections: list[tuple[str, Path]], verdict_files: dict[str, Path] | None = None,
                 claims: dict | None = None, evidence: dict[str, Published] | None = None,
                 texts: list[tuple[str, str]] = (), figures: dict[str, Path] | None = None) -> dict:
    """The report as data, from the pipeline's verdict files. `verdict_files` (claim id -> verdict
    JSON) defaults to every claim's pipeline verdict; `claims audit` passes its own, for the claims
    its probes could test. `evidence`: what `publish_evidence` wrote (hashed into the report id)."""
    claims = claims if claims is not None else load_claims()
    if verdict_files is None:
        verdict_files = {cid: verdict_path(cid) for cid in claims}
    records = load_records(verdict_files)
    # an audit of a user's networks is not a run of the suite: it is not logged to the suite's ledger
    run_ids = (ledger.claim_runs(ledger_items(records, claims, figures or {})) if scale != "audit"
               else {cid: None for cid in records})
    extra = list(texts)  # sections made by the report itself (the Instruments section), first
    for title, p in sections:
        if not p.is_file():
            raise BenchmarkError(f"{p}: report section {title!r} not found (its stage did not run?)")
        extra.append((title, p.read_text(encoding="utf-8")))
    report = assemble(scale, records, claims, extra, environment(), run_ids, evidence)
    for e in report["claims"]:
        ledger.record_final(e["mlflow_run_id"], e["verdict"], {k: e[k] for k in (
            "p_support_holm_paper", "p_against_holm_paper", "q_support_bh", "q_against_bh")})
    return report


def assemble(scale: str, records: dict[str, dict[str, Any]], claims: dict, sections: list, env: dict[str, Any],
             run_ids: dict[str, str | None], evidence: dict[str, Published] | None = None) -> dict:
    """The report as data from verdict records: the suite-level verdicts (one call, `finalize`),
    each claim's design, and the report id. Shared by the report stage, `claims report` from a
    published reports/ and `claims verify`, so all three decide alike."""
    unknown = sorted(set(records) - set(claims))
    if unknown:
        raise BenchmarkError(f"claims/: no claim file for {unknown[0]!r}, which the report has a verdict for")
    final = finalize({c: s for c, (_, s) in claims.items()}, records)
    entries = []
    for cid in sorted(records):
        rec, res, fin = records[cid], records[cid]["result"], final[cid]
        design = check_design(claims[cid][1], scale)
        entries.append({
            **fin, "claim": rec["claim"], "estimate": res["estimate"], "ci_low": res["ci_low"], "ci_high": res["ci_high"],
            "ci_level": res["ci_level"], "statistic": res["statistic"], "df": res["df"], "power": res["power"],
            "kind": res["kind"], "se": res.get("se", float("nan")), "transform": res.get("transform", "identity"),
            "estimand": res.get("estimand"), "heterogeneity": res.get("heterogeneity"),
            "power_target": rec["claim"]["test"]["power"], "n": res["n"], "strata": res["strata"],
            "preconditions": res.get("preconditions", []), "controls": res.get("controls", []),
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
            "evidence_sha256": rec["evidence"]["sha256"], "mlflow_run_id": run_ids.get(cid),
            **({"evidence_published": evidence[cid].to_dict()} if evidence else {}),
            "figure": f"figures/{cid}.png",
        })
        stab = stability(entries[-1], claims[cid][1].test, cid)
        entries[-1]["stability"] = stab.to_dict() if stab else None
    digests = {f"{cid}.json": hashlib.sha256(dumps_json(rec).encode()).hexdigest() for cid, rec in records.items()}
    rid = report_id_from(digests, {c: claims[c][1].version for c in records}, env["requirements_lock_sha256"], scale,
                         {p.file: p.sha256 for p in evidence.values()} if evidence else None)
    report = {"report_id": rid, "scale": scale, "claims": entries, "environment": env, "extra_sections": sections}
    if evidence:  # what a reader needs to re-derive the report (`claims verify`, `claims report`)
        report["verdict_records"] = {cid: records[cid] for cid in sorted(records)}
    return report


def from_published(out: Path, claims: dict | None = None) -> dict:
    """The report re-assembled from a published reports/ (claims.json's verdict records and
    sections, reports/evidence/) and claims/: no verdicts/, evidence/ or MLflow needed."""
    pub = read_published(out)
    problems = check_published(out, {e["claim_id"]: e["evidence_published"] for e in pub["claims"]})
    if problems:
        raise BenchmarkError(f"{out / 'claims.json'}: " + "; ".join(problems) + " (`claims verify` says more)")
    return reassemble(pub, claims if claims is not None else load_claims())


def reassemble(pub: dict[str, Any], claims: dict) -> dict:
    """`assemble` on what a published claims.json (read by `read_published`) recorded."""
    evidence = {e["claim_id"]: Published(*(e["evidence_published"][k] for k in ("file", "sha256", "form")))
                for e in pub["claims"]}
    report = assemble(pub["scale"], pub["verdict_records"], claims, [tuple(s) for s in pub["sections"]],
                      pub["environment"], {e["claim_id"]: e.get("mlflow_run_id") for e in pub["claims"]}, evidence)
    report["sections_published"] = True
    if pub.get("fixture_data"):
        report["fixture_data"] = pub["fixture_data"]
    return report


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


VERDICT_CODE = {"reproduced": 1, "inconclusive": 0, "falsified": -1}


def metrics(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, int]]:
    """What `dvc metrics`/`dvc exp show` keep: the report id and the verdict counts
    (reports/metrics.json, a few columns), and each claim's verdict as a code, 1 reproduced,
    0 inconclusive, -1 falsified (reports/verdicts.json, which `claims exps` tabulates)."""
    entries = report["claims"]
    counts = {v: sum(e["verdict"] == v for e in entries) for v in VERDICT_CODE}
    return ({"report_id": report["report_id"], "claims": len(entries), **counts},
            {e["claim_id"]: VERDICT_CODE[e["verdict"]] for e in entries})


def _section_figures(report: dict[str, Any], out: Path) -> tuple[list[tuple[str, str]], dict[str, Path]]:
    """The extra sections with their images under `out`/figures/: copied there from the project
    (`![alt](path relative to the project root)`) or, for a published report, already there."""
    figures: dict[str, Path] = {}
    rewritten = []
    for title, text in report["extra_sections"]:
        for src in IMAGE.findall(text):
            if report.get("sections_published"):
                path = out / src
                if not path.is_file():
                    raise BenchmarkError(f"{path}: image referenced by published section {title!r} is missing")
                figures[path.name] = path
                continue
            path = project_root() / src
            if not path.is_file():
                raise BenchmarkError(f"{path}: image referenced by report section {title!r} is missing")
            dst = out / "figures" / path.name
            write_bytes(dst, path.read_bytes())
            figures[path.name] = dst
            text = text.replace(f"]({src})", f"](figures/{path.name})")
        rewritten.append((title, text))
    return rewritten, figures


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
            if src.resolve() != dst.resolve():
                write_bytes(dst, src.read_bytes())
            figures[e["claim_id"]] = dst
    figures[Path(FOREST).name] = forest_png(report["claims"], out / FOREST, rid)
    rewritten, section_figures = _section_figures(report, out)
    figures.update(section_figures)
    report = {**report, "extra_sections": rewritten}
    md = markdown(report, {c: f"figures/{c}.png" for c in figures if not c.endswith(".png")})
    write_text(out / "report.md", md)
    write_text(out / "report.html", html_page(md, figures))
    data = {k: v for k, v in report.items() if k not in ("extra_sections", "sections_published")}
    if "verdict_records" in report:  # a published report: what re-renders and verifies it
        data["sections"] = [list(s) for s in rewritten]
    write_json(out / "claims.json", data)
    write_text(out / "claims.tex", claims_tex(report["claims"], rid, report["scale"]))
    write_text(out / "references.bib", references_bib(report["claims"], rid, _suite_version()))
    for name, rows in plot_tables(report).items():
        write_csv(out / "plots" / f"{name}.csv", pd.DataFrame(rows))
    counts, codes = metrics(report)
    write_json(out / "metrics.json", counts)
    write_json(out / "verdicts.json", codes)
    return figures


IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _pair(text: str, what: str) -> tuple[str, str]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise BenchmarkError(f"{what} {text!r}: expected NAME=PATH")
    return name, path


def copy_plot_tables(tables: list[tuple[str, Path]], out: Path) -> None:
    """Tables `dvc plots` draws besides the report's own, copied into `out`/plots/ so that every
    plot renders from reports/ alone (a fresh clone has no evidence/)."""
    for name, src in tables:
        if not src.is_file():
            raise BenchmarkError(f"{src}: plot table {name!r} not found (its stage did not run?)")
        dst = out / "plots" / f"{name}.csv"
        if not dst.is_file() or dst.read_bytes() != src.read_bytes():
            write_bytes(dst, src.read_bytes())


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--section", action="append", default=[], help="TITLE=PATH of a markdown section to append")
    ap.add_argument("--plot-table", action="append", default=[],
                    help="NAME=PATH of a table for `dvc plots`, copied to reports/plots/NAME.csv")
    ap.add_argument("--published", action="store_true",
                    help="re-render from reports/ itself (claims.json's verdict records, reports/evidence/), "
                         "without verdicts/ or evidence/: what `claims report` does on a fresh clone")
    args = ap.parse_args(argv)
    out = reports_dir()
    if args.published:
        if args.section or args.plot_table:
            raise BenchmarkError("--published re-renders reports/ as published: it takes no --section or --plot-table")
        report = from_published(out)
        write_report(report, out, {e["claim_id"]: out / "figures" / f"{e['claim_id']}.png" for e in report["claims"]})
    else:
        sections = [(t, project_root() / p) for t, p in (_pair(s, "--section") for s in args.section)]
        tables = [(n, project_root() / p) for n, p in (_pair(s, "--plot-table") for s in args.plot_table)]
        params = load_params()
        claims = load_claims()
        records = load_records({cid: verdict_path(cid) for cid in claims})
        evidence, notes = publish_evidence(records, claims, project_root(), out, params["scale"])
        for note in notes:
            print(f"note: {note}")
        controls = instruments.rows(project_root())
        texts = [(instruments.TITLE, instruments.markdown(controls, claims))] if controls is not None else []
        figures = draw_figures(records, claims, out)
        report = build_report(params["scale"], sections, claims=claims, evidence=evidence, texts=texts, figures=figures)
        from benchmark.paper.fixtures import fixture_note

        note = fixture_note(params)
        if note:  # paper scale on fixture files: the whole report says so on its first line
            report["fixture_data"] = note
        copy_plot_tables(tables, out)
        write_report(report, out, figures)
    for e in report["claims"]:
        print(f"{e['verdict']:>12}  {e['claim_id']}  est {e['estimate']:.4g} [{e['ci_low']:.4g}, {e['ci_high']:.4g}] "
              f"p {e['p_support_raw']:.3g}/{e['p_against_raw']:.3g} n {e['n']}")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"report {report['report_id']}: {out / 'report.md'} and {out / 'report.html'} ({size / 1e6:.1f} MB in {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
