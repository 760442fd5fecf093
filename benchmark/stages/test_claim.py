"""Test one claim on its evidence table; write its verdict record and figure; log to MLflow.

    python -m benchmark.stages.test_claim claims/<file>.yaml
Outputs: verdicts/<claim id>.json, verdicts/<claim id>.png
The verdict here uses raw p-values; the report applies the suite-wide Holm correction.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.atomic import write_json
from benchmark.claims.registry import load_claim
from benchmark.config import load_params
from benchmark.evaluate import evaluate
from benchmark.paper.fixtures import fixture_note
from benchmark.paths import figure_path, project_root, verdict_path
from benchmark.steps import cli, run_tags
from benchmark.tracking import ledger


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("claim_file", type=Path)
    args = ap.parse_args(argv)
    params = load_params()
    spec = load_claim(args.claim_file)
    fig = figure_path(spec.id)
    result, record = evaluate(args.claim_file, spec, figure_path=fig, scale=params["scale"])
    record["scale"] = params["scale"]
    note = fixture_note(params)
    if note:  # paper scale on fixture files: the verdict is a smoke test, and says so everywhere
        record["fixture_data"] = note
        record["result"]["reason"] = f"FIXTURE DATA, meaningless: {record['result']['reason']}"
    out = verdict_path(spec.id)
    write_json(out, record)
    tags = {**run_tags(f"test_claim@{spec.id}", record["stage_hash"]), "verdict_raw": result.verdict.value,
            "claim_version": str(spec.version), "test_kind": spec.test.kind, "scale": params["scale"]}
    ledger.log_claim(
        spec.id,
        params={"test": spec.test.model_dump_json(), "evidence_table": record["evidence"]["table"],
                "evidence_sha256": record["evidence"]["sha256"]},
        metrics={"estimate": result.estimate, "ci_low": result.ci_low, "ci_high": result.ci_high,
                 "p_support_raw": result.p_support, "p_against_raw": result.p_against, "power": result.power,
                 "n": result.n, "statistic": result.statistic},
        tags=tags, artifacts=[project_root() / record["evidence"]["table"], fig, out],
    )
    print(("[FIXTURE DATA] " if note else "") + f"{spec.id}: {result.verdict.value} (raw) - est {result.estimate:.4g} "
          f"[{result.ci_low:.4g}, {result.ci_high:.4g}], p {result.p_support:.3g}, power {result.power:.2f}, n {result.n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
