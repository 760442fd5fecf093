"""`claims verify [reports/]`: re-derive a published report from what it carries, with no training.

From reports/evidence/, claims/ and the verdict records in reports/claims.json it checks:
1. every published evidence file holds the bytes the report hashed (and, where it is the table the
   test read, the sha256 and stage hash in the verdict record: the claim file is the one tested);
2. the claim file in claims/ is the claim the verdict record was computed on;
3. the claim's own test (benchmark.evaluate, the pipeline's code path) on the published evidence
   gives the recorded result, field by field (a summary may differ only in `details`);
4. the suite-level verdicts, Holm/BH columns, designs, the report id and the metrics files, by the
   report stage's own `reassemble` (the one decision path; nothing is decided here).
Each mismatch is one line naming the claim and the field. Exit 0: all re-derived; 1: a mismatch;
2: bad input (no published report, a malformed claims.json or claim file).
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

from benchmark.atomic import dumps_json, read_json
from benchmark.errors import BenchmarkError
from benchmark.reporting.evidence_bundle import SUMMARY_EXEMPT, check_published, result_mismatches, sha256_bytes
from benchmark.reporting.published import read_published
from benchmark.tracking.provenance import sha256_files

FIXTURE_PREFIX = "FIXTURE DATA, meaningless: "  # benchmark.stages.test_claim marks fixture verdicts so


def _claim_checks(cid: str, rec: dict[str, Any], pub: dict[str, Any], claims: dict, out: Path,
                  scale: str) -> list[str]:
    from benchmark.evaluate import evaluate

    if cid not in claims:
        return [f"{cid}: claim: no claim file in claims/ has this id"]
    path, spec = claims[cid]
    problems = []
    if dumps_json(spec.model_dump(mode="json")) != dumps_json(rec["claim"]):
        problems.append(f"{cid}: claim: {path} (version {spec.version}) is not the claim the verdict was computed on "
                        f"(version {rec['claim'].get('version')})")
    table = out / pub["file"]
    raw = pub["form"] == "table"
    if raw and table.is_file():
        if sha256_files(table) != rec["evidence"]["sha256"]:
            problems.append(f"{cid}: evidence.sha256: {table} is not the table the test read")
        elif sha256_files(path, table) != rec["stage_hash"]:
            problems.append(f"{cid}: stage_hash: {path} is not the claim file the test read")
    if not table.is_file():
        return problems  # reported by check_published
    try:
        derived, derived_rec = evaluate(path, spec, table, scale=scale, controls_root=out)  # the published controls
    except BenchmarkError as exc:
        return problems + [f"{cid}: evidence: the claim's test refuses {table}: {exc}"]
    result = derived.to_dict()
    if rec.get("fixture_data") and str(rec["result"].get("reason", "")).startswith(FIXTURE_PREFIX):
        result["reason"] = FIXTURE_PREFIX + result["reason"]
    problems += [f"{cid}: result.{m}" for m in result_mismatches(rec["result"], result, () if raw else SUMMARY_EXEMPT)]
    if derived_rec["evidence"]["replicates"] != rec["evidence"]["replicates"]:
        problems.append(f"{cid}: evidence.replicates: recorded {len(rec['evidence']['replicates'])}, "
                        f"re-derived {len(derived_rec['evidence']['replicates'])}")
    return problems


def _entry_checks(recorded: list[dict[str, Any]], derived: list[dict[str, Any]]) -> list[str]:
    rec = {e["claim_id"]: e for e in recorded}
    problems = []
    for e in derived:
        old = rec.get(e["claim_id"], {})
        for key in sorted(set(e) | set(old)):
            a, b = dumps_json(old.get(key)), dumps_json(e.get(key))
            if a != b:
                problems.append(f"{e['claim_id']}: {key}: recorded {_short(old.get(key))}, re-derived {_short(e.get(key))}")
    return problems


def _short(value: Any) -> str:
    text = dumps_json(value).strip().replace("\n", " ")
    return text if len(text) <= 100 else text[:97] + "..."


def verify(out: Path, claims: dict | None = None) -> tuple[list[str], dict[str, Any]]:
    """(mismatches, summary) for the published report in `out`. Raises BenchmarkError on bad input."""
    from benchmark.claims.registry import load_claims
    from benchmark.reporting.report import metrics, reassemble

    out = Path(out)
    pub = read_published(out)
    claims = claims if claims is not None else load_claims()
    published = {e["claim_id"]: e["evidence_published"] for e in pub["claims"]}
    problems = check_published(out, published)
    for cid in sorted(pub["verdict_records"]):
        problems += _claim_checks(cid, pub["verdict_records"][cid], published[cid], claims, out, pub["scale"])
    missing = sorted(set(claims) - set(pub["verdict_records"]))
    # the report id from the files as they are (not as claims.json says they were)
    actual = {**pub, "claims": [{**e, "evidence_published": {**e["evidence_published"], "sha256": sha256_bytes(
        (out / e["evidence_published"]["file"]).read_bytes())}} if (out / e["evidence_published"]["file"]).is_file()
        else e for e in pub["claims"]]}
    report = None
    try:
        report = reassemble(actual, claims)
    except BenchmarkError as exc:  # e.g. a verdict whose claim file is gone
        problems.append(f"report: {exc}")
    if report is not None:
        if report["report_id"] != pub["report_id"]:
            problems.append(f"report_id: recorded {pub['report_id']}, re-derived {report['report_id']}")
        problems += _entry_checks(pub["claims"], report["claims"])
        counts, codes = metrics(report)
        for name, want in (("metrics.json", counts), ("verdicts.json", codes)):
            path = out / name
            got = read_json(path) if path.is_file() else None
            if dumps_json(got) != dumps_json(want):
                problems.append(f"{name}: does not match the re-derived verdicts")
    lock = Path("requirements.lock")
    notes = []
    if lock.is_file() and hashlib.sha256(lock.read_bytes()).hexdigest() != pub["environment"]["requirements_lock_sha256"]:
        notes.append("this checkout's requirements.lock differs from the one the report was computed under "
                     "(the report id hashes the recorded one)")
    if missing:
        notes.append(f"{len(missing)} claim file(s) in claims/ have no verdict in this report (e.g. {missing[0]})")
    summary = {"report_id": pub["report_id"], "claims": len(pub["verdict_records"]), "notes": notes,
               "summaries": sorted(c for c, p in published.items() if p["form"] == "summary")}
    return problems, summary


def main_verify(reports: Path) -> int:
    """The CLI: mismatch lines, then one verdict line; 0, 1 or 2 as the module says."""
    import time

    t0 = time.perf_counter()
    try:
        problems, summary = verify(reports)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(f"MISMATCH {line}")
    for note in summary["notes"]:
        print(f"note: {note}")
    took = time.perf_counter() - t0
    if problems:
        print(f"verify: FAIL: {len(problems)} mismatch(es) in report {summary['report_id']} ({took:.1f} s)")
        return 1
    print(f"verify: OK: report {summary['report_id']}: {summary['claims']} claims re-derived from {reports}/evidence/ "
          f"and claims/ (every verdict, interval, adjusted p, design and the report id; "
          f"{len(summary['summaries'])} from summaries) in {took:.1f} s")
    return 0
