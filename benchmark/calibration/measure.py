"""A claim's design, measured on its real evidence table (or, without one, from defaults).

Structure (replicates, strata, units, levels, groups) and variance are taken from the table the
claim reads, so the simulation asks "would this test, on tables like ours, give the right
verdict?". Variance components that the table estimates below zero are taken as zero.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.optimize import brentq

from benchmark.calibration.designs import (CorrelationDesign, DifferenceDesign, MeanDesign, PairedDesign,
                                           StratifiedDesign, TrendDesign, distance_w, rep_z, spearman_z_var)
from benchmark.claims.spec import ClaimSpec, TestSpec
from benchmark.errors import BenchmarkError
from benchmark.stats.decide import TRANSFORMS
from benchmark.stats.kinds import _filter, trend_frame
from benchmark.stats.decide import reproduced_power

# Between-network SD of the true per-network Fisher z in each stratum, used when a correlation
# claim has no evidence table yet: the morcos2018 selectivity table (12 networks, 2 x 128 units)
# shows per-layer SDs of 0.08-0.12, of which ~0.09 is within-network sampling noise.
DEFAULT_TAU_Z = 0.05
DEFAULT_UNITS = 128


def _x_used(frame: pd.DataFrame, p: dict) -> np.ndarray:
    x = frame[p["x"]].to_numpy(float)
    if p.get("x_scale", "linear") == "rank":
        x = np.searchsorted(np.unique(x), x).astype(float)
    return x


def correlation_from_table(spec: TestSpec, frame: pd.DataFrame) -> CorrelationDesign:
    p = spec.params
    rep, strata, method = p.get("replicate", "seed"), p.get("strata"), p.get("method", "spearman")
    zf = rep_z(frame, rep, strata, p["x"], p["y"], method)
    labels = sorted(zf["stratum"].unique())
    units = tuple(int(zf.loc[zf.stratum == s, "n"].median()) for s in labels)
    means = np.array([zf.loc[zf.stratum == s, "z"].mean() for s in labels])
    wide = zf.pivot(index="rep", columns="stratum", values="z")[labels].dropna()
    cov = np.atleast_2d(np.cov(wide.to_numpy().T, ddof=1)) if len(wide) > 1 else np.zeros((len(labels),) * 2)
    sampling = [spearman_z_var(math.tanh(m), n) if method == "spearman" else 1.0 / (n - 3)
                for m, n in zip(means, units)]
    between = cov - np.diag(sampling)
    return CorrelationDesign(
        rep_col=rep, x_col=p["x"], y_col=p["y"], strata_col=strata, method=method,
        n_reps=int(frame[rep].nunique()), strata=tuple(labels), units=units,
        offsets=tuple(float(v) for v in means - means.mean()), cov=tuple(map(tuple, between.tolist())),
        source="evidence table", real_rep_sd=float(zf.groupby("rep")["z"].mean().std(ddof=1)))


def trend_from_table(spec: TestSpec, frame: pd.DataFrame, columns: list[str]) -> TrendDesign:
    p = spec.params
    rep, strata = p.get("replicate", "seed"), p.get("strata")
    # the rows the test fits (filtered, and averaged per network under `aggregate: mean`)
    frame = trend_frame(frame, p).drop(columns="_x").reset_index(drop=True)
    x_used = _x_used(frame, p)
    y = frame[p["y"]].to_numpy(float)
    keys = frame[strata].to_numpy() if strata else np.full(len(frame), "all", dtype=object)
    shape, sd, fit_sd, intercept, resid_sd = np.zeros(len(frame)), np.zeros(len(frame)), np.zeros(len(frame)), {}, []
    for name in sorted(pd.unique(keys)):
        idx = np.flatnonzero(keys == name)
        fit = sm.OLS(y[idx], sm.add_constant(x_used[idx], has_constant="add")).fit()
        intercept[name] = float(fit.params[0])
        resid_sd.append(float(np.sqrt(fit.scale)))
        fit_sd[idx] = resid_sd[-1]
        level = pd.Series(y[idx]).groupby(x_used[idx])
        means, sds = level.transform("mean").to_numpy(), level.transform("std").to_numpy()
        shape[idx] = means - fit.params[0] - fit.params[1] * x_used[idx]
        pooled = float(np.sqrt(np.nanmean((y[idx] - means) ** 2) * len(idx) / max(len(idx) - level.ngroups, 1)))
        sd[idx] = np.where(np.isfinite(sds), sds, pooled)  # a level with one network: pooled within SD
    keep = [c for c in columns if c in frame.columns and c != p["y"]]
    return TrendDesign(rep_col=rep, x_col=p["x"], y_col=p["y"], strata_col=strata, rows=frame[keep].copy(),
                       x_used=x_used, intercept=intercept, shape=shape, sd=sd, source="evidence table",
                       real_rep_sd=max(resid_sd), fit_sd=fit_sd)


def _per_stratum(spec: TestSpec, frame: pd.DataFrame, one) -> object:
    """One design per stratum of an `every_stratum` claim (kinds without strata of their own)."""
    col = spec.params["strata"]
    frame = _filter(frame, spec.params)
    parts = tuple((label, one(spec, g)) for label, g in frame.groupby(col, sort=True))
    return StratifiedDesign(strata_col=col, parts=parts, source="evidence table, per stratum")


def mean_from_table(spec: TestSpec, frame: pd.DataFrame) -> MeanDesign | StratifiedDesign:
    if spec.params.get("strata"):
        return _per_stratum(spec, frame, _mean_one)
    return _mean_one(spec, frame)


def _mean_one(spec: TestSpec, frame: pd.DataFrame) -> MeanDesign:
    p = spec.params
    rep = p.get("replicate", "seed")
    frame = _filter(frame, p)
    g = frame.groupby(rep)[p["y"]]
    m = max(int(round(g.size().mean())), 1)
    sigma = float(np.sqrt(np.nanmean(g.var(ddof=1)))) if m > 1 else 0.0
    tau = math.sqrt(max(float(g.mean().var(ddof=1)) - sigma**2 / m, 0.0))
    return MeanDesign(rep_col=rep, y_col=p["y"], n_reps=int(g.ngroups), rows_per_rep=m, tau=tau, sigma=sigma,
                      source="evidence table", real_rep_sd=float(g.mean().std(ddof=1)))


def difference_from_table(spec: TestSpec, frame: pd.DataFrame) -> DifferenceDesign | StratifiedDesign:
    if spec.params.get("strata"):
        return _per_stratum(spec, frame, _difference_one)
    return _difference_one(spec, frame)


def _difference_one(spec: TestSpec, frame: pd.DataFrame) -> DifferenceDesign:
    p = spec.params
    rep = p.get("replicate", "seed")
    frame = _filter(frame, p)
    arms = {}
    for arm in ("treatment", "control"):
        values = p[arm] if isinstance(p[arm], list) else [p[arm]]
        sub = frame[frame[p["group"]].isin(values)]
        arms[arm] = (tuple(values), sub.groupby([rep, p["group"]])[p["y"]].mean())
    n = int(min(len(means) // max(len(values), 1) for values, means in arms.values()))
    return DifferenceDesign(rep_col=rep, y_col=p["y"], group_col=p["group"], treatment=arms["treatment"][0],
                            control=arms["control"][0], n_per_group=max(n, 2),
                            sd_treatment=float(arms["treatment"][1].std(ddof=1)),
                            sd_control=float(arms["control"][1].std(ddof=1)), source="evidence table",
                            real_rep_sd=float(arms["control"][1].std(ddof=1)))


def paired_from_table(spec: TestSpec, frame: pd.DataFrame) -> PairedDesign:
    """Per-replicate differences measured exactly as the kind forms them, per stratum."""
    p = spec.params
    rep, strata = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)
    t = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
    c = p["control"] if isinstance(p["control"], list) else [p["control"]]
    groups = list(frame.groupby(strata, sort=True)) if strata else [("all", frame)]
    labels, sds, ns = [], [], []
    for label, g in groups:
        d = (g[g[p["group"]].isin(t)].groupby(rep)[p["y"]].mean()
             - g[g[p["group"]].isin(c)].groupby(rep)[p["y"]].mean()).dropna()
        labels.append(label)
        sds.append(float(d.std(ddof=1)) if len(d) > 1 else 0.0)
        ns.append(len(d))
    return PairedDesign(rep_col=rep, y_col=p["y"], group_col=p["group"], treatment=tuple(t), control=tuple(c),
                        n_reps=max(min(ns), 2), strata_col=strata, strata=tuple(labels), sd_diff=tuple(sds),
                        source="evidence table", real_rep_sd=max(sds),
                        n_by_stratum=tuple(max(n, 2) for n in ns) if len(set(ns)) > 1 else ())


def afford(design, spec: TestSpec, scale_fn) -> object:
    """Without real variance: the largest noise at which the design still reaches its declared
    power for a `reproduced` verdict (what the claim's own power analysis promises)."""
    to_w = TRANSFORMS["identity"][0]
    dist = distance_w(spec, to_w)
    se, df = design.true_se()
    target = brentq(lambda s: reproduced_power(spec, dist, s, df)
                    - spec.power, dist * 1e-3, dist * 10)
    return scale_fn(design, target / se)


def from_defaults(claim: ClaimSpec, params: dict) -> object:
    """The claim's structure from params.yaml (seeds, layers, levels) and a documented variance."""
    spec, p = claim.test, claim.test.params
    scale = params.get("scale", "embedded")
    n = claim.scales[scale].replicates if scale in claim.scales else claim.scales["embedded"].replicates
    exp = ((params.get("experiments") or {}).get(claim.evidence.experiment) or {}).get(scale) or {}
    rep = p.get("replicate", "seed")
    if spec.kind == "replicate_correlation":
        hidden = exp.get("hidden") if p.get("strata") == "layer" else None
        units = tuple(hidden) if hidden else (DEFAULT_UNITS,)
        L = len(units)
        return CorrelationDesign(rep_col=rep, x_col=p["x"], y_col=p["y"], strata_col=p.get("strata"),
                                 method=p.get("method", "spearman"), n_reps=n, strata=tuple(range(L)), units=units,
                                 offsets=(0.0,) * L, cov=tuple(map(tuple, (np.eye(L) * DEFAULT_TAU_Z**2).tolist())),
                                 source="default (no evidence table)")
    if spec.kind == "trend":
        levels = exp.get(p["x"]) if isinstance(exp.get(p["x"]), list) else list(np.linspace(0, 1, 6))
        n = max(n, 2 * len(levels))  # the declared networks, spread round-robin over the levels
        idx = np.arange(n)
        one = pd.DataFrame({rep: idx // len(levels), p["x"]: np.asarray(levels, dtype=float)[idx % len(levels)]})
        strata = list(claim.strata_levels_at(scale) or ()) if p.get("strata") else None
        rows = (pd.concat([one.assign(**{p["strata"]: lv}) for lv in strata], ignore_index=True) if strata else one)
        x_used = _x_used(rows, p)
        design = TrendDesign(rep_col=rep, x_col=p["x"], y_col=p["y"], strata_col=p["strata"] if strata else None,
                             rows=rows, x_used=x_used, intercept={k: 0.0 for k in (strata or ["all"])},
                             shape=np.zeros(len(rows)), sd=np.ones(len(rows)),
                             source="default (no evidence table): noise the design can just afford")
        return afford(design, spec, lambda d, f: dataclasses.replace(d, sd=d.sd * f))
    if spec.kind == "replicate_mean":
        design = MeanDesign(rep_col=rep, y_col=p["y"], n_reps=n, rows_per_rep=1, tau=1.0, sigma=0.0,
                            source="default (no evidence table): noise the design can just afford")
        return _declared_strata(spec, claim.strata_levels_at(scale),
                                afford(design, spec, lambda d, f: dataclasses.replace(d, tau=d.tau * f)))
    if spec.kind == "mean_difference":
        t = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
        c = p["control"] if isinstance(p["control"], list) else [p["control"]]
        design = DifferenceDesign(rep_col=rep, y_col=p["y"], group_col=p["group"], treatment=tuple(t), control=tuple(c),
                                  n_per_group=max(2, n // 2), sd_treatment=1.0, sd_control=1.0,
                                  source="default (no evidence table): noise the design can just afford")
        return _declared_strata(spec, claim.strata_levels_at(scale),
                                afford(design, spec, lambda d, f: dataclasses.replace(d, sd_treatment=f, sd_control=f)))
    if spec.kind == "paired_difference":
        t = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
        c = p["control"] if isinstance(p["control"], list) else [p["control"]]
        levels = tuple(claim.strata_levels_at(scale) or ("all",)) if p.get("strata") else ("all",)
        design = PairedDesign(rep_col=rep, y_col=p["y"], group_col=p["group"], treatment=tuple(t), control=tuple(c),
                              n_reps=n, strata_col=p.get("strata") if levels != ("all",) else None, strata=levels,
                              sd_diff=(1.0,) * len(levels),
                              source="default (no evidence table): noise the design can just afford")
        return afford(design, spec, lambda d, f: dataclasses.replace(d, sd_diff=(f,) * len(levels)))
    raise BenchmarkError(f"claims/{claim.id}: test kind {spec.kind!r} has no calibration design; add one in "
                         "benchmark/calibration (designs, simulate, measure, reference)")


def _declared_strata(spec: TestSpec, levels, design) -> object:
    """The default design repeated in every declared stratum of an `every_stratum` claim."""
    if not spec.params.get("strata") or not levels:
        return design
    return StratifiedDesign(strata_col=spec.params["strata"], parts=tuple((lv, design) for lv in levels),
                            source=design.source)


def design_for_claim(claim: ClaimSpec, frame: pd.DataFrame | None, params: dict) -> object:
    spec = claim.test
    if frame is None:
        return from_defaults(claim, params)
    if spec.kind == "replicate_correlation":
        return correlation_from_table(spec, frame)
    if spec.kind == "trend":
        return trend_from_table(spec, frame, list(claim.evidence.columns))
    if spec.kind == "replicate_mean":
        return mean_from_table(spec, frame)
    if spec.kind == "mean_difference":
        return difference_from_table(spec, frame)
    if spec.kind == "paired_difference":
        return paired_from_table(spec, frame)
    raise BenchmarkError(f"claims/{claim.id}: test kind {spec.kind!r} has no calibration design; add one in "
                         "benchmark/calibration (designs, simulate, measure, reference)")
