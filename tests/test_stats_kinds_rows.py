"""The kinds read a group's rows by position (benchmark.stats.kinds._row_groups, _group_mean)
instead of building a sub-frame per group: on any table they must return exactly the result of
the sub-frame formulation, bit for bit (verdict records and the calibration are compared byte for
byte). The `_reference_*` functions here are that formulation, kept as the specification.

pandas' group mean sums in table order, with a summation that depends on whether the group keys
come sorted; the generated tables mix sorted and shuffled rows, several rows per replicate and
side, rows in neither side, missing replicates and strata, and an index that is not 0..n-1.
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmark.claims.spec import TestSpec
from benchmark.stats.decide import heterogeneity, stratum, summarize
from benchmark.stats.kinds import (Inference, _filter, _intersection, _one_sample, mean_difference,
                                   moments, paired_difference, replicate_correlation, replicate_mean, welch_se)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reference_paired_difference(frame: pd.DataFrame, spec: TestSpec):
    p = spec.params
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)
    treat = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
    ctrl = p["control"] if isinstance(p["control"], list) else [p["control"]]

    def diffs(sub: pd.DataFrame) -> tuple[pd.Series, int]:
        t = sub[sub[p["group"]].isin(treat)].groupby(rep)[p["y"]].mean()
        c = sub[sub[p["group"]].isin(ctrl)].groupby(rep)[p["y"]].mean()
        paired = t.index.intersection(c.index)
        unpaired = len(t.index.union(c.index)) - len(paired)
        return (t[paired] - c[paired]).sort_index(), unpaired

    if strata_col:
        parts = {name: diffs(g) for name, g in frame.groupby(strata_col, sort=True)}
        details = {"strata": strata_col, "unpaired": {str(k): v[1] for k, v in parts.items()},
                   "per_replicate": {str(k): {str(r): float(d) for r, d in v[0].items()} for k, v in parts.items()}}
        if not parts:
            return summarize("paired_difference", Inference(math.nan, math.nan, 0, 0), spec, (), details)
        return _intersection("paired_difference", {k: _one_sample(v[0].to_numpy()) for k, v in parts.items()}, spec, details)
    d, unpaired = diffs(frame)
    return summarize("paired_difference", _one_sample(d.to_numpy()), spec, (),
                     {"unpaired": unpaired, "per_replicate": {str(r): float(v) for r, v in d.items()}})


def _reference_replicate_correlation(frame: pd.DataFrame, spec: TestSpec):
    p = spec.params
    frame = _filter(frame, p)
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    method = p.get("method", "spearman")
    from scipy import stats

    corr = stats.spearmanr if method == "spearman" else stats.pearsonr
    rows = []
    groups = [rep] + ([strata_col] if strata_col else [])
    for key, g in frame.groupby(groups, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if len(g) < 3 or g[p["x"]].nunique() < 2 or g[p["y"]].nunique() < 2:
            continue
        r = float(corr(g[p["x"]], g[p["y"]])[0])
        if math.isfinite(r):
            rows.append({"rep": key[0], "stratum": key[1] if strata_col else "all", "z": math.atanh(max(-0.999999, min(0.999999, r)))})
    per = pd.DataFrame(rows, columns=["rep", "stratum", "z"])
    details = {"method": method, "units_per_replicate": float(frame.groupby(rep).size().mean()) if len(frame) else 0.0}
    if strata_col and spec.resolved_estimand() == "every_stratum":
        infs = {name: _one_sample(g.groupby("rep")["z"].mean().to_numpy(), "fisher_z")
                for name, g in per.groupby("stratum", sort=True)}
        if infs:
            return _intersection("replicate_correlation", infs, spec, {**details, "strata": strata_col})
    per_rep = per.groupby("rep")["z"].mean()
    inf = _one_sample(per_rep.to_numpy(), "fisher_z")
    strata = tuple(stratum(f"{strata_col} {name}", _one_sample(g["z"].to_numpy(), "fisher_z"), spec)
                   for name, g in per.groupby("stratum", sort=True)) if strata_col else ()
    details["per_replicate_r"] = {str(k): math.tanh(v) for k, v in per_rep.items()}
    result = summarize("replicate_correlation", inf, spec, strata, details)
    if strata_col:
        result = dataclasses.replace(result, estimand="pooled", heterogeneity=heterogeneity(strata))
    return result


def _reference_replicate_mean(frame: pd.DataFrame, spec: TestSpec):
    p = spec.params
    rep = p.get("replicate", "seed")
    frame = _filter(frame, p)
    if p.get("strata"):
        infs = {name: _one_sample(g.groupby(rep)[p["y"]].mean().to_numpy())
                for name, g in frame.groupby(p["strata"], sort=True)}
        if infs:
            return _intersection("replicate_mean", infs, spec, {"strata": p["strata"]})
    per_rep = frame.groupby(rep)[p["y"]].mean()
    inf = _one_sample(per_rep.to_numpy())
    return summarize("replicate_mean", inf, spec, (), {"rows_per_replicate": float(frame.groupby(rep).size().mean()) if len(frame) else 0.0})


def _reference_mean_difference(frame: pd.DataFrame, spec: TestSpec):
    p = spec.params
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)

    def side(sub, values):
        values = values if isinstance(values, list) else [values]
        sub = sub[sub[p["group"]].isin(values)]
        return sub.groupby([rep, p["group"]])[p["y"]].mean().to_numpy(float)

    def welch(sub):
        a, b = side(sub, p["treatment"]), side(sub, p["control"])
        n = len(a) + len(b)
        if len(a) < 2 or len(b) < 2:
            return Inference(math.nan, math.nan, 0, n), a, b
        se, dof = welch_se(moments(a), moments(b))
        return Inference(float(a.mean() - b.mean()), se, dof if se > 0 else float(len(a) + len(b) - 2), n), a, b

    if strata_col:
        parts = {name: welch(g) for name, g in frame.groupby(strata_col, sort=True)}
        details = {"strata": strata_col,
                   "mean_treatment": {str(k): float(v[1].mean()) if len(v[1]) else math.nan for k, v in parts.items()},
                   "mean_control": {str(k): float(v[2].mean()) if len(v[2]) else math.nan for k, v in parts.items()},
                   "n_treatment": {str(k): len(v[1]) for k, v in parts.items()},
                   "n_control": {str(k): len(v[2]) for k, v in parts.items()}}
        if not parts:
            return summarize("mean_difference", Inference(math.nan, math.nan, 0, 0), spec, (), details)
        return _intersection("mean_difference", {k: v[0] for k, v in parts.items()}, spec, details)
    inf, a, b = welch(frame)
    return summarize("mean_difference", inf, spec, (), {"n_treatment": len(a), "n_control": len(b),
                                                       "mean_treatment": float(a.mean()) if len(a) else math.nan,
                                                       "mean_control": float(b.mean()) if len(b) else math.nan})


def _same(a, b) -> None:
    """Equal to the last bit: repr prints every float exactly (and tells -0.0 from 0.0)."""
    assert repr(a) == repr(b)


# values with ties (spearman ranks), sums that round differently in another order or summation
# (0.1 + 0.2 + 0.3), missing values, and spread in magnitude
values = st.one_of(st.sampled_from([0.1, 0.2, 0.3, 0.7, 1.0, -2.5, 1e-3, math.nan]),
                   st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))


@st.composite
def tables(draw, with_x: bool):
    n = draw(st.integers(0, 60))
    reps = st.one_of(st.integers(0, 3), st.just(None)) if draw(st.booleans()) else st.integers(0, 3)
    frame = pd.DataFrame({
        "seed": draw(st.lists(reps, min_size=n, max_size=n)),
        "arm": draw(st.lists(st.sampled_from(["t", "t2", "c", "other"]), min_size=n, max_size=n)),
        "layer": draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)),
        "y": draw(st.lists(values, min_size=n, max_size=n)),
    })
    if with_x:
        frame["x"] = draw(st.lists(values, min_size=n, max_size=n))
    if draw(st.booleans()):  # sorted by replicate (and layer): the group keys come in order
        frame = frame.sort_values(["seed", "layer"], kind="stable")
    if draw(st.booleans()):  # an index that is not 0..n-1, with repeated labels
        frame.index = draw(st.lists(st.integers(0, 7), min_size=len(frame), max_size=len(frame)))
    return frame


def _spec(kind: str, params: dict, estimand: str | None) -> TestSpec:
    extra = {"estimand": estimand} if estimand else {}
    return TestSpec.model_validate(dict(kind=kind, form="directional", direction="greater", alpha=0.05, power=0.8,
                                        sesoi=0.1, params=params, **extra))


@SETTINGS
@given(frame=tables(with_x=False), strata=st.booleans(), treatment=st.sampled_from([["t"], ["t", "t2"]]),
       every=st.booleans())
def test_paired_difference_is_the_sub_frame_formulation(frame, strata, treatment, every):
    params = {"y": "y", "group": "arm", "treatment": treatment, "control": ["c"], "replicate": "seed"}
    if strata:
        params["strata"] = "layer"
    spec = _spec("paired_difference", params, ("every_stratum" if every else None) if strata else None)
    _same(_reference_paired_difference(frame, spec), paired_difference(frame, spec))


@SETTINGS
@given(frame=tables(with_x=True), strata=st.booleans(), method=st.sampled_from(["spearman", "pearson"]),
       every=st.booleans())
def test_replicate_correlation_is_the_sub_frame_formulation(frame, strata, method, every):
    params = {"x": "x", "y": "y", "replicate": "seed", "method": method}
    if strata:
        params["strata"] = "layer"
    spec = _spec("replicate_correlation", params, ("every_stratum" if every else "pooled") if strata else None)
    _same(_reference_replicate_correlation(frame, spec), replicate_correlation(frame, spec))


@SETTINGS
@given(frame=tables(with_x=False), strata=st.booleans(), treatment=st.sampled_from([["t"], ["t", "t2"]]))
def test_mean_difference_is_the_sub_frame_formulation(frame, strata, treatment):
    params = {"y": "y", "group": "arm", "treatment": treatment, "control": ["c"], "replicate": "seed"}
    if strata:
        params["strata"] = "layer"
    spec = _spec("mean_difference", params, "every_stratum" if strata else None)
    _same(_reference_mean_difference(frame, spec), mean_difference(frame, spec))


@SETTINGS
@given(frame=tables(with_x=False), strata=st.booleans())
def test_replicate_mean_is_the_sub_frame_formulation(frame, strata):
    params = {"y": "y", "replicate": "seed"}
    if strata:
        params["strata"] = "layer"
    spec = _spec("replicate_mean", params, "every_stratum" if strata else None)
    _same(_reference_replicate_mean(frame, spec), replicate_mean(frame, spec))
