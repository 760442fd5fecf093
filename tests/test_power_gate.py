"""The power gate never blocks a decisive result against the claim.

Reported: eight networks with per-network Spearman rho 0.84 [0.81, 0.86], against M1's bound of
0.1, came out `inconclusive: under-powered (power 0.77 < 0.80)`. Power belongs to the design (fixed
from the pilot in the claim file, checked by `claims validate`); the power computed from the data
is reported as observed sensitivity and decides nothing.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from benchmark.cli import main as claims_main
from tests.conftest import REPO

M1 = REPO / "claims" / "morcos2018-selectivity-not-importance.yaml"


def eight_networks(rho: float = 0.84, sd_z: float = 0.05, units: int = 64, seed: int = 2) -> pd.DataFrame:
    """Per network a Spearman correlation near `rho` (Fisher-z SD `sd_z` across networks), two layers."""
    rng = np.random.default_rng(seed)
    rows = []
    for net in range(8):
        r = math.tanh(math.atanh(rho) + rng.normal(0, sd_z))
        for layer in (0, 1):
            x = rng.normal(size=units)
            y = r * x + math.sqrt(1 - r * r) * rng.normal(size=units)
            sel, imp = 1 / (1 + np.exp(-x)), 0.05 / (1 + np.exp(-y)) - 0.01  # in their declared domains
            fires = np.linspace(0.05, 1, units)  # every unit fires: the claim's active_fraction range keeps all
            rows += [{"seed": net, "layer": layer, "unit": u, "selectivity_excess": a, "importance": b,
                      "active_fraction": f} for u, (a, b, f) in enumerate(zip(sel, imp, fires))]
    return pd.DataFrame(rows)


def test_eight_networks_far_beyond_the_bound_are_falsified(tmp_path, capsys, monkeypatch, controls_pass):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    path = tmp_path / "eight.csv"
    eight_networks().to_csv(path, index=False)
    assert claims_main(["test", str(M1), "--evidence", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)["result"]
    assert res["n"] == 8
    assert res["estimate"] == pytest.approx(0.84, abs=0.01)
    assert 0.80 < res["ci_low"] and res["ci_high"] < 0.87  # the reported 0.84 [0.81, 0.86]
    assert res["power"] < 0.8  # the observed sensitivity that used to block the verdict (0.77)
    assert res["verdict"] == "falsified" and res["reason_code"] == "contrary", res["reason"]
