"""Reading a published report back: reports/claims.json with what re-derives it.

A report the stage publishes carries, besides its verdicts, the inputs a reader needs to re-derive
it without the pipeline: the verdict records (`verdict_records`, the very records the report id
hashes), the extra sections as rendered (`sections`), the environment of the run, and for every
claim the published evidence file (`evidence_published`, under reports/evidence/). A malformed
file is refused naming the file and the field (exit 2 from the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.atomic import read_json
from benchmark.errors import ClaimFileError

REQUIRED = ("report_id", "scale", "claims", "environment", "verdict_records", "sections")


def read_published(out: Path) -> dict[str, Any]:
    """reports/claims.json as data, checked for what re-deriving the report needs."""
    path = Path(out) / "claims.json"
    if not path.is_file():
        raise ClaimFileError(path, "<file>", "no published report here (expected the report stage's claims.json)")
    try:
        pub = read_json(path)
    except ValueError as exc:
        raise ClaimFileError(path, "<file>", f"not valid JSON: {exc}") from None
    if not isinstance(pub, dict):
        raise ClaimFileError(path, "<file>", "not a JSON object")
    for key in REQUIRED:
        if key not in pub:
            raise ClaimFileError(path, key, "missing: this report was rendered before reports carried their evidence; "
                                            "re-run the report stage (`dvc repro report`)")
    records = pub["verdict_records"]
    if not isinstance(records, dict) or not isinstance(pub["claims"], list):
        raise ClaimFileError(path, "verdict_records", "expected an object of claim id -> verdict record, and a list of claims")
    for i, entry in enumerate(pub["claims"]):
        cid = entry.get("claim_id") if isinstance(entry, dict) else None
        if cid is None:
            raise ClaimFileError(path, f"claims[{i}].claim_id", "missing")
        if cid not in records:
            raise ClaimFileError(path, f"verdict_records.{cid}", "missing: the report lists this claim without its record")
        pubd = entry.get("evidence_published")
        if not isinstance(pubd, dict) or not {"file", "sha256", "form"} <= set(pubd):
            raise ClaimFileError(path, f"claims[{i}].evidence_published", f"missing or incomplete for {cid}")
        if Path(pubd["file"]).is_absolute() or ".." in Path(pubd["file"]).parts:
            raise ClaimFileError(path, f"claims[{i}].evidence_published.file", f"{pubd['file']!r} must lie under reports/")
        for key in ("result", "evidence", "claim", "stage_hash"):
            if key not in records[cid]:
                raise ClaimFileError(path, f"verdict_records.{cid}.{key}", "missing")
    extra = sorted(set(records) - {e["claim_id"] for e in pub["claims"]})
    if extra:
        raise ClaimFileError(path, f"verdict_records.{extra[0]}", "a record for a claim the report does not list")
    if not all(isinstance(s, list) and len(s) == 2 for s in pub["sections"]):
        raise ClaimFileError(path, "sections", "expected a list of [title, markdown] pairs")
    return pub
