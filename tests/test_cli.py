"""The `claims` command: list, kinds, test on your own evidence (text and JSON), power."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main
from tests.conftest import REPO

M2 = "morcos2018.generalizers-resist-ablation"


def m2_table(path, slope: float, seeds: int = 5, noise: float = 0.01, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.repeat([0.0, 0.2, 0.4, 0.6, 0.8, 1.0], seeds)
    frame = pd.DataFrame({"seed": np.tile(range(seeds), 6), "label_noise": x,
                          "auc": 0.5 + slope * x + rng.normal(0, noise, len(x)), "accuracy_unablated": 0.99,
                          "train_acc": 0.995})
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))


def test_list_and_kinds(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert M2 in out and "trend" in out
    assert main(["kinds"]) == 0
    assert "replicate_correlation" in capsys.readouterr().out


def test_bring_your_own_evidence(tmp_path, capsys, controls_pass):
    table = m2_table(tmp_path / "mine.csv", slope=-0.3)
    fig = tmp_path / "fig.png"
    assert main(["test", M2, "--evidence", str(table), "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    assert "reproduced" in out and "estimate" in out
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["test", M2, "--evidence", str(table), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["result"]["verdict"] == "reproduced" and rec["claim_id"] == M2
    assert rec["result"]["estimate"] == pytest.approx(-0.3, abs=0.02)


def test_bad_evidence_exit_code(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"seed": [0], "label_noise": [0.0]}).to_csv(path, index=False)
    assert main(["test", M2, "--evidence", str(path)]) == 2
    assert "column 'auc'" in capsys.readouterr().err
    assert main(["test", "nobody2000.nothing", "--evidence", str(path)]) == 2
    assert "no claim" in capsys.readouterr().err


def test_power_from_pilot(tmp_path, capsys):
    table = m2_table(tmp_path / "pilot.csv", slope=-0.1, seeds=2, noise=0.03)
    assert main(["power", M2, "--evidence", str(table), "--seeds", "100-101"]) == 0
    out = capsys.readouterr().out
    key = "replicates needed for power 0.8 and the target precision: "
    needed = int(out.split(key)[1].split()[0])
    assert 'pilot: {seeds: "100-101", n: 12' in out  # the block to paste into the claim file
    # the noisier the pilot, the more replicates: compare with a 3x noisier one
    table2 = m2_table(tmp_path / "pilot2.csv", slope=-0.1, seeds=2, noise=0.09)
    assert main(["power", M2, "--evidence", str(table2)]) == 0
    out2 = capsys.readouterr().out
    needed2 = out2.split(key)[1].split()[0]
    assert needed2 == "> 2000" or int(needed2) > needed


def test_m2_networks_that_did_not_fit_make_it_inconclusive(tmp_path, capsys, controls_pass):
    """M2's precondition: a strong slope is no verdict while one network is short of its fit (its
    instrument's controls passed, so the precondition is the one reason)."""
    table = m2_table(tmp_path / "unfit.csv", slope=-0.3)
    frame = pd.read_csv(table)
    frame.loc[3, "train_acc"] = 0.9
    frame.to_csv(table, index=False)
    assert main(["test", M2, "--evidence", str(table), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["result"]["verdict"] == "inconclusive"
    assert rec["result"]["reason_code"] == "precondition_failed"
    assert [p["passed"] for p in rec["result"]["preconditions"]] == [False]


def test_draws_side_by_side(tmp_path, capsys):
    from benchmark.atomic import write_json

    def entry(cid, est, lo, hi, verdict="reproduced"):
        return {"claim_id": cid, "version": 1, "verdict": verdict, "estimate": est, "ci_low": lo, "ci_high": hi,
                "n": 5, "df": 4.0, "alpha": 0.05}

    write_json(tmp_path / "a.json", {"claims": [entry("x2000.a", 1.0, 0.8, 1.2), entry("x2000.b", 0.0, -0.1, 0.1)]})
    write_json(tmp_path / "b.json", {"claims": [entry("x2000.a", 1.1, 0.9, 1.3), entry("x2000.b", 0.5, 0.4, 0.6, "falsified")]})
    assert main(["draws", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "| `x2000.b` | reproduced | falsified |" in out
    assert "observed 50%" in out  # a: both inside each other's interval; b: neither
    assert "verdicts: 1 of 2 agree" in out and "expected 8" in out  # equal-width 90% intervals, df 4: ~80%
