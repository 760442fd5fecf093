"""Known-answer evidence for every claim, through `claims test <id> --evidence FILE`."""

from __future__ import annotations

import json

import pytest

from benchmark.claims.registry import claim_files, load_claim
from benchmark.cli import main
from tests.conftest import REPO
from tests.planted import SCENARIOS, expected, planted_table

CASES = [(p, s) for p in claim_files(REPO / "claims") for s in SCENARIOS]


def _passing_controls(ids, root, monkeypatch):
    """A project root whose controls tables hold a passing row for each named control (and the
    repo's params.yaml), so that a claim's known answer does not hang on this checkout's outputs."""
    import shutil

    from benchmark.controls import Control, decide, write

    root.mkdir()
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    by_family: dict[str, list] = {}
    for cid in ids:
        family, control = cid.split("/", 1)
        ctl = Control(control, "planted", "positive", "planted: passes", "at_least", 0.0)
        by_family.setdefault(family, []).append(decide(ctl, [1.0, 1.0]))
    for family, results in by_family.items():
        write(family, results, root)
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))


@pytest.mark.parametrize("path, scenario", CASES, ids=[f"{p.stem}:{s}" for p, s in CASES])
def test_planted_evidence_gives_the_known_verdict(path, scenario, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    spec = load_claim(path)
    if spec.controls:  # the known answer is the test's, not the instrument's: every named control passes
        _passing_controls(spec.controls, tmp_path / "root", monkeypatch)
    table = tmp_path / f"{scenario}.csv"
    planted_table(spec, scenario).to_csv(table, index=False)
    want = expected(spec, scenario).value
    if spec.scales["embedded"].undecidable:
        # declared undecidable at embedded scale: never decides there; the known answer at paper scale
        assert main(["test", str(path), "--evidence", str(table), "--json"]) == 0
        rec = json.loads(capsys.readouterr().out)
        assert rec["result"]["verdict"] == "inconclusive", rec["result"]["reason"]
        assert "paper" in spec.scales and not spec.scales["paper"].undecidable
    scale = "paper" if spec.scales["embedded"].undecidable else "embedded"
    assert main(["test", str(path), "--evidence", str(table), "--json", "--scale", scale]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["result"]["verdict"] == want, rec["result"]["reason"]
