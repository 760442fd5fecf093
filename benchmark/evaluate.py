"""Claim file + evidence table -> verdict record. Used by the DVC stage and by `claims test`, so
bring-your-own evidence takes exactly the pipeline's code path. It decides and draws nothing: a
claim's figure is the report's (benchmark.reporting.figures), drawn from the same table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.claims.spec import ClaimSpec
from benchmark.paths import evidence_path, project_root
from benchmark.stats.decide import at_scale, with_controls
from benchmark.stats.evidence import check_integrity, read_table
from benchmark.stats.kinds import run_test
from benchmark.stats.result import TestResult
from benchmark.tracking.provenance import sha256_files


def table_of(spec: ClaimSpec, table_path: Path | None = None) -> Path:
    """The evidence table a claim is tested on: `table_path`, or the one its claim file names."""
    return Path(table_path) if table_path else evidence_path(spec.evidence.experiment, spec.evidence.table)


def evaluate(claim_path: Path, spec: ClaimSpec, table_path: Path | None = None, scale: str = "embedded",
             controls_root: Path | None = None) -> tuple[TestResult, dict[str, Any]]:
    """The claim's test on its evidence table, its instrument's controls applied (read from
    `controls_root`/evidence/controls/, default the project's; `claims verify` passes the published
    report's), its scale's declarations last."""
    table_path = table_of(spec, table_path)
    frame = read_table(table_path)
    check_integrity(frame, spec, table_path)
    result = run_test(frame, spec, claim_path, table_path, scale)
    if spec.controls:
        from benchmark.controls import outcomes

        result = with_controls(result, outcomes(spec.controls, controls_root))
    setting = spec.scales.get(scale)
    result = at_scale(result, setting.undecidable if setting else None, scale)
    rep = spec.test.params.get("replicate", "seed")
    root = project_root().resolve()
    shown = table_path.resolve()
    shown = shown.relative_to(root) if shown.is_relative_to(root) else shown  # no machine paths in outputs
    record = {
        "claim_id": spec.id,
        "version": spec.version,
        "claim": spec.model_dump(mode="json"),
        "evidence": {"table": str(shown), "sha256": sha256_files(table_path), "rows": int(len(frame)),
                     "replicates": [str(v) for v in sorted(frame[rep].unique())] if rep in frame.columns else []},
        "result": result.to_dict(),
        "stage_hash": sha256_files(claim_path, table_path),
    }
    return result, record
