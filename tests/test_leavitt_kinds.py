"""Test-kind options the selectivity claims use (trend `aggregate`, mean_difference `strata`), and
the leavitt claim files on planted evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.claims.registry import load_claims
from benchmark.claims.spec import TestSpec
from benchmark.stats.kinds import KINDS, check_params
from benchmark.stats.result import Verdict

ALPHAS = [-10, -3, -1, -0.3, 0, 0.3, 1, 3, 10]


def _spec(**kw) -> TestSpec:
    base = dict(kind="trend", form="directional", direction="less", alpha=0.05, power=0.8, sesoi=0.005, min_replicates=5)
    return TestSpec(**{**base, **kw})


def _rows(slope_per_rank: dict[str, float], conditions: int = 3, seeds: int = 6, sd: float = 0.002):
    rng = np.random.default_rng(0)
    rows = []
    for ds, slope in slope_per_rank.items():
        for r, a in enumerate(ALPHAS):
            for s in range(seeds):
                net = 0.8 + slope * r + sd * rng.standard_normal()
                for c in range(conditions):
                    rows.append({"seed": s, "alpha": a, "dataset": ds, "condition": c, "y": net + 0.05 * c})
    return pd.DataFrame(rows)


def test_trend_aggregate_averages_a_networks_conditions_first():
    frame = _rows({"a": -0.02, "b": -0.03})
    spec = _spec(params={"x": "alpha", "y": "y", "x_scale": "rank", "strata": "dataset", "aggregate": "mean",
                         "range": {"alpha": [-1, 1]}})
    res = KINDS["trend"].run(frame, spec)
    assert res.verdict is Verdict.REPRODUCED and res.n == 30  # 5 levels x 6 seeds, one row per network
    assert res.estimate == pytest.approx(-0.02, abs=0.002)  # the weakest stratum
    with pytest.raises(ValueError, match="one row per network"):
        KINDS["trend"].run(frame, _spec(params={"x": "alpha", "y": "y", "strata": "dataset"}))


def test_trend_fails_when_one_stratum_goes_the_other_way():
    frame = _rows({"a": -0.02, "b": 0.02})
    spec = _spec(params={"x": "alpha", "y": "y", "x_scale": "rank", "strata": "dataset", "aggregate": "mean"})
    assert KINDS["trend"].run(frame, spec).verdict is Verdict.FALSIFIED


def test_mean_difference_strata_need_every_stratum():
    frame = _rows({"a": 0.0, "b": 0.0}, conditions=1)
    frame.loc[(frame.dataset == "b") & (frame.alpha < 0), "y"] -= 0.1  # b loses 10 points
    spec = TestSpec(kind="mean_difference", form="bound", direction="greater", bound=-0.02, alpha=0.05, power=0.8,
                    params={"y": "y", "group": "alpha", "treatment": [-1.0, -0.3], "control": [0.0], "strata": "dataset"})
    res = KINDS["mean_difference"].run(frame, spec)
    assert res.verdict is Verdict.FALSIFIED and {s.name for s in res.strata} == {"dataset a", "dataset b"}
    frame2 = _rows({"a": 0.0, "b": 0.0}, conditions=1)
    assert KINDS["mean_difference"].run(frame2, spec).verdict is Verdict.REPRODUCED


CHECKS = {"lowers": ["leavitt2021.manipulation-lowers", "leavitt2021.manipulation-lowers-absolute"],
          "raises": ["leavitt2021.manipulation-raises", "leavitt2021.manipulation-raises-absolute"]}
# L2 is decided on the sweep's extension (alpha 0/+1 only): its own checks on those networks
EXTENSION_CHECKS = {"raises": ["leavitt2021.manipulation-raises-extension",
                               "leavitt2021.manipulation-raises-extension-absolute"]}


def test_leavitt_claims_valid_and_each_requires_the_check_it_relies_on():
    """A dependant comparing alpha < 0 with alpha = 0 requires the checks that selectivity is lower
    there (log ratio per dataset, absolute change per dataset and layer), one comparing alpha > 0
    the checks that it is higher: no other check, and each check tests the same contrast
    (treatment and control levels) in every dataset the dependant speaks of."""
    claims = {cid: v for cid, v in load_claims().items() if cid.startswith("leavitt")}
    flat = {c for cs in (*CHECKS.values(), *EXTENSION_CHECKS.values()) for c in cs}
    assert flat <= set(claims) and "leavitt2021.manipulation-check" not in claims
    assert len(claims) == 13
    for cid, (path, spec) in claims.items():
        check_params(spec, path)
        if cid in flat:
            assert spec.requires == []
            continue
        assert spec.test.kind == "paired_difference" and spec.test.params["control"] == [0.0]
        (treated,) = spec.test.params["treatment"]
        direction = "lowers" if treated < 0 else "raises"
        on_extension = spec.evidence.experiment != claims[CHECKS[direction][0]][1].evidence.experiment
        wanted = CHECKS[direction] + (EXTENSION_CHECKS[direction] if on_extension else [])
        assert spec.requires == wanted, cid
        datasets = {s.split("/")[0] for s in spec.test.strata_levels}
        for check in wanted:
            check_spec = claims[check][1]
            assert check_spec.test.params["treatment"] == [treated] and check_spec.test.params["control"] == [0.0]
            # the check holds in every dataset the dependant speaks of (and, the absolute one, in every layer)
            assert {s.split("/")[0] for s in check_spec.test.strata_levels} == datasets
        if on_extension:  # the extension's checks read the very networks the dependant is decided on
            for check in EXTENSION_CHECKS[direction]:
                assert claims[check][1].evidence.experiment == spec.evidence.experiment
