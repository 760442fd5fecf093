"""Test one claim on its evidence table; write its verdict record.

    python -m benchmark.stages.test_claim claims/<file>.yaml
Output: verdicts/<claim id>.json
The verdict here uses raw p-values and the claim's own checks; the suite step (requires, Holm and BH
beside it) is the report's. The report also draws the claim's figure and logs the test to MLflow,
all claims in one process (a claim test is then imports and arithmetic, ~1.5 s, not ~5).
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
from benchmark.paths import verdict_path
from benchmark.steps import cli


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("claim_file", type=Path)
    args = ap.parse_args(argv)
    params = load_params()
    spec = load_claim(args.claim_file)
    result, record = evaluate(args.claim_file, spec, scale=params["scale"])
    record["scale"] = params["scale"]
    note = fixture_note(params)
    if note:  # paper scale on fixture files: the verdict is a smoke test, and says so everywhere
        record["fixture_data"] = note
        record["result"]["reason"] = f"FIXTURE DATA, meaningless: {record['result']['reason']}"
    out = verdict_path(spec.id)
    write_json(out, record)  # the report logs it to MLflow (benchmark.tracking.ledger.claim_runs)
    print(("[FIXTURE DATA] " if note else "") + f"{spec.id}: {result.verdict.value} (raw) - est {result.estimate:.4g} "
          f"[{result.ci_low:.4g}, {result.ci_high:.4g}], p {result.p_support:.3g}, power {result.power:.2f}, n {result.n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
