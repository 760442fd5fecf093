"""Known-answer evidence for every claim, through `claims test <id> --evidence FILE`."""

from __future__ import annotations

import json

import pytest

from benchmark.claims.registry import claim_files, load_claim
from benchmark.cli import main
from tests.conftest import REPO
from tests.planted import SCENARIOS, expected, planted_table

CASES = [(p, s) for p in claim_files(REPO / "claims") for s in SCENARIOS]


@pytest.mark.parametrize("path, scenario", CASES, ids=[f"{p.stem}:{s}" for p, s in CASES])
def test_planted_evidence_gives_the_known_verdict(path, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    spec = load_claim(path)
    table = tmp_path / f"{scenario}.csv"
    planted_table(spec, scenario).to_csv(table, index=False)
    assert main(["test", str(path), "--evidence", str(table), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    want = expected(spec, scenario).value
    assert rec["result"]["verdict"] == want, rec["result"]["reason"]
