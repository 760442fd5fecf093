"""The calibration's simulated tables are built once per design (structure) and refilled per
simulation (draws): every table must be the one the per-table construction gave, value for value,
in the same row and column order and dtypes, from the same random draws in the same order (the
calibration stage's outputs are compared byte for byte across such changes).

`_reference_simulate` is the former construction, one DataFrame per part and a concat per table,
kept here as the specification.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.calibration.designs import (CorrelationDesign, DifferenceDesign, MeanDesign, PairedDesign,
                                           StratifiedDesign, TrendDesign, psd_root)
from benchmark.calibration.reference import reference_designs
from benchmark.calibration.run import truths
from benchmark.calibration.simulate import Simulator, _complete, simulate


def _reference_simulate(design, truth, rng, columns, where=None, ranges=None) -> pd.DataFrame:
    if isinstance(design, StratifiedDesign):
        parts = [_reference_simulate(part, truth[label] if isinstance(truth, dict) else float(truth), rng, [])
                 .assign(**{design.strata_col: label}) for label, part in design.parts]
        frame = pd.concat(parts, ignore_index=True)
    elif isinstance(design, CorrelationDesign):
        d, effect_w = design, truth if isinstance(truth, dict) else float(truth)
        root = psd_root(np.asarray(d.cov))
        centre = (np.array([effect_w[s] for s in d.strata], dtype=float) if isinstance(effect_w, dict)
                  else effect_w + np.asarray(d.offsets))
        rho_s = np.tanh(centre + rng.standard_normal((d.n_reps, len(d.units))) @ root.T)
        rho = 2.0 * np.sin(np.pi * rho_s / 6.0) if d.method == "spearman" else rho_s
        parts = []
        for l, m in enumerate(d.units):
            x = rng.standard_normal((d.n_reps, m))
            e = rng.standard_normal((d.n_reps, m))
            r = rho[:, l : l + 1]
            part = {d.rep_col: np.repeat(np.arange(d.n_reps), m), d.x_col: x.ravel(),
                    d.y_col: (r * x + np.sqrt(1.0 - r**2) * e).ravel(), "unit": np.tile(np.arange(m), d.n_reps)}
            if d.strata_col:
                part[d.strata_col] = np.full(d.n_reps * m, d.strata[l])
            parts.append(pd.DataFrame(part))
        frame = pd.concat(parts, ignore_index=True)
    elif isinstance(design, TrendDesign):
        d = design
        slopes = truth if isinstance(truth, dict) else {k: float(truth) for k in d.stratum_index()}
        y = np.empty(len(d.rows))
        for name, idx in d.stratum_index().items():
            y[idx] = d.intercept.get(name, 0.0) + slopes[name] * d.x_used[idx] + d.shape[idx]
        frame = d.rows.assign(**{d.y_col: y + d.sd * rng.standard_normal(len(d.rows))})
    elif isinstance(design, MeanDesign):
        d = design
        rep_means = float(truth) + d.tau * rng.standard_normal(d.n_reps)
        y = np.repeat(rep_means, d.rows_per_rep) + d.sigma * rng.standard_normal(d.n_reps * d.rows_per_rep)
        frame = pd.DataFrame({d.rep_col: np.repeat(np.arange(d.n_reps), d.rows_per_rep), d.y_col: y})
    elif isinstance(design, DifferenceDesign):
        d, parts = design, []
        for values, mean, sd in ((d.control, 0.0, d.sd_control), (d.treatment, float(truth), d.sd_treatment)):
            for g in values:
                parts.append(pd.DataFrame({d.rep_col: np.arange(d.n_per_group), d.group_col: g,
                                           d.y_col: mean + sd * rng.standard_normal(d.n_per_group)}))
        frame = pd.concat(parts, ignore_index=True)
    elif isinstance(design, PairedDesign):
        d, parts = design, []
        effects = truth if isinstance(truth, dict) else {k: float(truth) for k in d.strata}
        for i, (label, sd) in enumerate(zip(d.strata, d.sd_diff)):
            n = d.n_of(i)
            u = rng.standard_normal(n)
            treat = u + effects[label] + sd * rng.standard_normal(n)
            for values, y in ((d.control, u), (d.treatment, treat)):
                part = {d.rep_col: np.arange(n), d.group_col: values[0], d.y_col: y}
                if d.strata_col:
                    part[d.strata_col] = label
                parts.append(pd.DataFrame(part))
        frame = pd.concat(parts, ignore_index=True)
    else:
        raise TypeError(type(design).__name__)
    return _complete(frame, columns, where, ranges)


def _assert_same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a.dtypes.equals(b.dtypes)
    assert type(a.index) is type(b.index) and a.index.equals(b.index)
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def _cases() -> dict:
    """name -> (design, claim columns, where, range, truth per scenario): the reference designs,
    and designs with the shapes that claims' evidence gives (numeric group values and strata,
    unequal replicates per stratum, several group values per arm, a trend with strata)."""
    cases = {}
    for ref in reference_designs():
        name = ref.claim.id.split(".", 1)[1]
        for label, design in (("", ref.design), (" naive", ref.naive_design)):
            cases[name + label] = (design, list(ref.claim.evidence.columns), None, None,
                                   truths(ref.claim.test, design))
    paired = PairedDesign("seed", "y", "alpha", (1.0,), (0.0,), 5, "dataset", (0.1, 0.2), (1.0, 2.0), "t",
                          n_by_stratum=(5, 3))
    cases["paired numeric"] = (paired, ["seed", "alpha", "dataset", "layer", "y", "kind"], {"kind": ["x"]},
                               {"layer": [2, None]}, {"null": {0.1: 0.0, 0.2: 0.5}, "design": 0.5})
    diff = DifferenceDesign("seed", "y", "arm", ("t1", "t2"), ("c",), 4, 1.0, 2.0, "t")
    cases["difference arms"] = (diff, ["seed", "arm", "y", "acc"], None, {"acc": [None, -1.0]},
                                {"null": 0.0, "design": 1.0})
    cases["stratified mean"] = (StratifiedDesign("model", ((1, MeanDesign("seed", "y", 3, 2, 0.5, 1.0, "t")),
                                                           (2, MeanDesign("seed", "y", 4, 1, 0.5, 0.0, "t"))), "t"),
                                ["model", "seed", "y", "acc"], None, None, {"null": {1: 0.0, 2: 1.0}, "design": 1.0})
    rows = pd.DataFrame({"seed": np.arange(8), "lr": np.tile([0.1, 1.0], 4), "arch": np.repeat(["a", "b"], 4)})
    x = rows["lr"].to_numpy()
    trend = TrendDesign("seed", "lr", "out", "arch", rows, x, {"a": 1.0, "b": 2.0}, np.linspace(-1, 1, 8),
                        np.linspace(0.5, 1.5, 8), "t")
    cases["trend strata"] = (trend, ["seed", "lr", "arch", "out", "train_acc"], None, None,
                             {"null": {"a": 0.0, "b": 1.0}, "design": -0.5})
    return cases


CASES = _cases()


@pytest.mark.parametrize("name", sorted(CASES))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), scenario=st.sampled_from(["null", "design"]))
def test_simulated_tables_are_the_per_table_construction(name, seed, scenario):
    design, columns, where, ranges, truth = CASES[name]
    truth = truth[scenario]
    old, new = np.random.default_rng(seed), np.random.default_rng(seed)
    simulator = Simulator(design, columns, where, ranges)
    for _ in range(3):  # the structure is reused: later tables must not see earlier ones
        expected = _reference_simulate(design, truth, old, columns, where, ranges)
        table = simulator(truth, new)
        _assert_same_table(expected, table)
        table.iloc[0, 0] = -7  # a test that writes into its table (here: a replicate) leaves the next one alone
    _assert_same_table(_reference_simulate(design, truth, old, columns, where, ranges),
                       simulate(design, truth, new, columns, where, ranges))
    assert old.bit_generator.state == new.bit_generator.state  # the same draws, in the same order
