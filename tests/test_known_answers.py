"""Known-answer evidence for every claim, through `claims test <id> --evidence FILE`."""

from __future__ import annotations

import json

import pytest

from benchmark import controls
from benchmark.claims.registry import claim_files, load_claim
from benchmark.cli import main
from tests.conftest import REPO, instruments_pass
from tests.planted import SCENARIOS, expected, planted_table

CASES = [(p, s) for p in claim_files(REPO / "claims") for s in SCENARIOS]


@pytest.mark.parametrize("path, scenario", CASES, ids=[f"{p.stem}:{s}" for p, s in CASES])
def test_planted_evidence_gives_the_known_verdict(path, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    monkeypatch.setattr(controls, "outcomes", instruments_pass)
    spec = load_claim(path)
    table = tmp_path / f"{scenario}.csv"
    scale = "paper" if spec.scales["embedded"].undecidable else "embedded"
    planted_table(spec, scenario, scale=scale).to_csv(table, index=False)
    want = expected(spec, scenario).value
    if spec.scales["embedded"].undecidable:
        # declared undecidable at embedded scale: never decides there; the known answer at paper scale
        embedded = tmp_path / f"{scenario}-embedded.csv"
        planted_table(spec, scenario).to_csv(embedded, index=False)
        assert main(["test", str(path), "--evidence", str(embedded), "--json"]) == 0
        rec = json.loads(capsys.readouterr().out)
        assert rec["result"]["verdict"] == "inconclusive", rec["result"]["reason"]
        assert "paper" in spec.scales and not spec.scales["paper"].undecidable
    assert main(["test", str(path), "--evidence", str(table), "--json", "--scale", scale]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["result"]["verdict"] == want, rec["result"]["reason"]
