"""The evidence that travels with the report: every claim's table under reports/evidence/.

A reader of a cited report id has no trained networks and no DVC outputs, only reports/ and
claims/. So the report publishes, for every claim, the exact bytes its test read
(`reports/evidence/<experiment>/<table>.csv`, the path under evidence/ kept, one copy for claims
that share a table). A table above `RAW_LIMIT` bytes is published as a summary instead
(`<table>@<claim id>.csv`): the reduction the claim's test applies first (the mean of the measured
column within each replicate, stratum, group, level and filter cell; a precondition's column
reduced as the precondition reduces it), kept in the claim's own schema so the claim's own test
runs on it. A summary is published only if that test on it gives the recorded result in every
field but `details` (which describes the raw rows, e.g. rows per replicate); otherwise the raw
table is published and the stage says why. `claims verify` (benchmark.reporting.verify) re-runs
every test on these files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from benchmark.atomic import dumps_json, write_bytes
from benchmark.errors import BenchmarkError
from benchmark.tracking.provenance import sha256_files

RAW_LIMIT = 4_000_000  # bytes: every embedded table (the largest is 1.6 MB) travels as it is
SUMMARY_EXEMPT = ("details",)  # result fields a summary may change: they describe the raw rows
SUMMARY_KINDS = ("replicate_mean", "mean_difference", "paired_difference")


@dataclasses.dataclass(frozen=True)
class Published:
    """One claim's published evidence: `file` relative to reports/, its sha256, raw table or summary."""

    file: str
    sha256: str
    form: str  # "table" (the bytes the test read) or "summary"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def canonical_result(result: dict[str, Any], exempt: tuple[str, ...] = ()) -> str:
    """A test result as the verdict record stores it (floats to 10 significant digits, NaN as
    "NaN", sorted keys), less the `exempt` fields: equal strings, equal results."""
    return dumps_json({k: v for k, v in result.items() if k not in exempt})


def result_mismatches(recorded: dict[str, Any], derived: dict[str, Any], exempt: tuple[str, ...] = ()) -> list[str]:
    """The result fields whose recorded and re-derived values differ, each as 'field: recorded X,
    re-derived Y' (compared as the verdict record stores them)."""
    out = []
    for key in sorted(set(recorded) | set(derived)):
        if key in exempt:
            continue
        a, b = canonical_result({key: recorded.get(key)}), canonical_result({key: derived.get(key)})
        if a != b:
            out.append(f"{key}: recorded {_short(recorded.get(key))}, re-derived {_short(derived.get(key))}")
    return out


def _short(value: Any) -> str:
    text = dumps_json(value).strip().replace("\n", " ")
    return text if len(text) <= 120 else text[:117] + "..."


def summary_table(frame: pd.DataFrame, spec) -> pd.DataFrame | None:
    """The claim's table reduced as its test reduces it first, in the claim's own schema; None
    for a kind whose first step is not a mean within replicate cells (a correlation over units,
    or a trend already on one row per network and level)."""
    p = spec.test.params
    kind = spec.test.kind
    if kind not in SUMMARY_KINDS and not (kind == "trend" and p.get("aggregate") == "mean"):
        return None
    cells = [p.get("replicate", "seed")]
    for col in [p.get(k) for k in ("strata", "group", "x")] + list(p.get("where") or {}) + list(p.get("range") or {}):
        if col and col not in cells:
            cells.append(col)
    how = {p["y"]: "mean"}
    for pre in spec.preconditions:
        if how.get(pre.column, pre.reduce) != pre.reduce or pre.column in cells:
            return None  # one column reduced two ways, or a cell column: no faithful summary
        how[pre.column] = pre.reduce
    columns = [c for c in frame.columns if c not in cells]
    agg = {c: how.get(c, "first") for c in columns}
    out = frame.groupby(cells, sort=True, as_index=False, dropna=False).agg(agg)
    out["summary_rows"] = frame.groupby(cells, sort=True, dropna=False).size().to_numpy()
    return out[list(frame.columns) + ["summary_rows"]]


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # 17 significant digits: a mean read back is the very float the reduction computed
    return frame.to_csv(index=False, float_format="%.17g", lineterminator="\n").encode()


def _summary_for(cid: str, claim_path: Path, spec, raw: Path, result: dict[str, Any], scale: str) -> tuple[bytes | None, str]:
    """(summary bytes, '') when the claim's test on the summary reproduces `result`; (None, why) otherwise."""
    from benchmark.evaluate import evaluate
    from benchmark.stats.evidence import read_table

    summary = summary_table(read_table(raw), spec)
    if summary is None:
        return None, f"test kind {spec.test.kind!r} has no per-replicate reduction to publish"
    data = _csv_bytes(summary)
    if len(data) >= raw.stat().st_size:
        return None, f"its summary ({len(data)} bytes) is no smaller"
    with tempfile.TemporaryDirectory(prefix="interp-claims-summary-") as tmp:
        path = Path(tmp) / raw.name
        path.write_bytes(data)
        try:
            derived, _ = evaluate(claim_path, spec, path, scale=scale)
        except BenchmarkError as exc:
            return None, f"the claim's test refuses the summary: {exc}"
    wrong = result_mismatches(result, derived.to_dict(), SUMMARY_EXEMPT)
    if wrong:
        return None, "the claim's test on the summary does not reproduce the verdict (" + "; ".join(wrong[:3]) + ")"
    return data, ""


def publish_evidence(records: dict[str, dict[str, Any]], claims: dict, root: Path, out: Path, scale: str,
                     raw_limit: int = RAW_LIMIT) -> tuple[dict[str, Published], list[str]]:
    """Write every claim's evidence under `out`/evidence/ and remove what no claim uses any more.

    `records`: claim id -> verdict record; `claims`: claim id -> (claim file, spec). The table
    each record names must still hold the bytes the test read (its sha256 in the record), or the
    verdict is stale and the report refuses to publish it. Returns each claim's `Published` and
    one note per table published raw although above `raw_limit`."""
    published: dict[str, Published] = {}
    notes: list[str] = []
    written: dict[Path, bytes] = {}
    for cid in sorted(records):
        rec = records[cid]
        rel = Path(rec["evidence"]["table"])
        src = root / rel
        if rel.is_absolute() or not rel.parts or rel.parts[0] != "evidence":
            raise BenchmarkError(f"verdicts/{cid}.json: evidence table {rel} lies outside evidence/; the report "
                                 "publishes the pipeline's own tables only")
        if not src.is_file():
            raise BenchmarkError(f"{src}: evidence table of claim {cid!r} is missing (run its probe stage)")
        if sha256_files(src) != rec["evidence"]["sha256"]:
            raise BenchmarkError(f"{src}: not the table claim {cid!r} was tested on (its sha256 differs from the "
                                 f"verdict record's); run `dvc repro` so the verdict is recomputed")
        data, form, dst = src.read_bytes(), "table", out / rel
        if len(data) > raw_limit:
            path, spec = claims[cid]
            summary, why = _summary_for(cid, path, spec, src, rec["result"], scale)
            if summary is not None:
                data, form, dst = summary, "summary", out / rel.parent / f"{rel.stem}@{cid}.csv"
            else:
                notes.append(f"{cid}: {rel} ({len(data)} bytes) published whole: {why}")
        if written.get(dst, data) != data:
            raise BenchmarkError(f"{dst}: two claims would publish different bytes here")
        written[dst] = data
        published[cid] = Published(dst.relative_to(out).as_posix(), sha256_bytes(data), form)
    for family in sorted({c.split("/", 1)[0] for cid in records if cid in claims for c in claims[cid][1].controls}):
        src = root / "evidence" / "controls" / f"{family}.csv"  # what the verdicts' controls were read from
        if src.is_file():  # published as they are, so that `claims verify` re-derives every control on a clone
            written[out / "evidence" / "controls" / f"{family}.csv"] = src.read_bytes()
    for dst, data in written.items():
        if not dst.is_file() or dst.read_bytes() != data:
            write_bytes(dst, data)
    keep = set(written)
    for old in sorted((out / "evidence").rglob("*")) if (out / "evidence").is_dir() else []:
        if old.is_file() and old not in keep:
            old.unlink()
    return published, notes


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_published(out: Path, published: dict[str, dict[str, Any]]) -> list[str]:
    """Problems with the published files `published` (claim id -> Published as a dict) under `out`:
    missing, or bytes other than those hashed into the report id."""
    problems = []
    for cid, pub in sorted(published.items()):
        path = out / pub["file"]
        if not path.is_file():
            problems.append(f"{cid}: evidence_file: {path} is missing")
        elif sha256_bytes(path.read_bytes()) != pub["sha256"]:
            problems.append(f"{cid}: evidence_file: {path} differs from the bytes the report hashed (sha256)")
    return problems
