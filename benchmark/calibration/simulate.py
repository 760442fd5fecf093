"""Simulated evidence tables: same columns and structure as the real ones, truth chosen by us.

`simulate(design, effect_w, rng, columns)` returns a table for the design's test kind in which
the kind's estimand equals `effect_w` on the working scale (per stratum for stratified trends).
Declared columns the simulation does not model are filled with 0, or with a value the claim's
`where` / `range` filters keep, so the table passes the same validation as real evidence. Every draw comes from the Generator passed in.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.calibration.designs import (CorrelationDesign, DifferenceDesign, MeanDesign, PairedDesign,
                                           StratifiedDesign, TrendDesign, psd_root)


def _complete(frame: pd.DataFrame, columns: list[str], where: dict | None = None,
              ranges: dict | None = None) -> pd.DataFrame:
    """Declared columns the simulation does not model: a value the claim's `where` filter keeps,
    else the value nearest 0 inside its `range` (0 when unfiltered), so the simulated rows are the
    rows the test reads."""
    for col in columns:
        if col not in frame.columns:
            allowed = (where or {}).get(col)
            if allowed is not None:
                frame[col] = (allowed if isinstance(allowed, list) else [allowed])[0]
            else:
                lo, hi = (ranges or {}).get(col) or (None, None)
                frame[col] = lo if lo is not None and lo > 0 else hi if hi is not None and hi < 0 else 0.0
    return frame


def correlation_table(d: CorrelationDesign, effect_w, rng: np.random.Generator) -> pd.DataFrame:
    """`effect_w`: one working-scale effect, or stratum -> effect (heterogeneous strata, in which case
    the real layer offsets are replaced by the given effects)."""
    L = len(d.units)
    root = psd_root(np.asarray(d.cov))
    if isinstance(effect_w, dict):
        centre = np.array([effect_w[s] for s in d.strata], dtype=float)
    else:
        centre = effect_w + np.asarray(d.offsets)
    z = centre + rng.standard_normal((d.n_reps, L)) @ root.T  # (reps, strata)
    rho_s = np.tanh(z)
    rho = 2.0 * np.sin(np.pi * rho_s / 6.0) if d.method == "spearman" else rho_s
    parts = []
    for l, m in enumerate(d.units):
        x = rng.standard_normal((d.n_reps, m))
        e = rng.standard_normal((d.n_reps, m))
        r = rho[:, l : l + 1]
        y = r * x + np.sqrt(1.0 - r**2) * e
        part = {d.rep_col: np.repeat(np.arange(d.n_reps), m), d.x_col: x.ravel(), d.y_col: y.ravel(),
                "unit": np.tile(np.arange(m), d.n_reps)}
        if d.strata_col:
            part[d.strata_col] = np.full(d.n_reps * m, d.strata[l])
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def trend_table(d: TrendDesign, slopes: dict, rng: np.random.Generator) -> pd.DataFrame:
    """`slopes`: stratum -> true slope on the kind's x scale (all strata when one value)."""
    y = np.empty(len(d.rows))
    for name, idx in d.stratum_index().items():
        y[idx] = d.intercept.get(name, 0.0) + slopes[name] * d.x_used[idx] + d.shape[idx]
    y = y + d.sd * rng.standard_normal(len(d.rows))
    return d.rows.assign(**{d.y_col: y})


def mean_table(d: MeanDesign, effect_w: float, rng: np.random.Generator) -> pd.DataFrame:
    rep_means = effect_w + d.tau * rng.standard_normal(d.n_reps)
    y = np.repeat(rep_means, d.rows_per_rep) + d.sigma * rng.standard_normal(d.n_reps * d.rows_per_rep)
    return pd.DataFrame({d.rep_col: np.repeat(np.arange(d.n_reps), d.rows_per_rep), d.y_col: y})


def difference_table(d: DifferenceDesign, effect_w: float, rng: np.random.Generator) -> pd.DataFrame:
    parts = []
    for values, mean, sd in ((d.control, 0.0, d.sd_control), (d.treatment, effect_w, d.sd_treatment)):
        for g in values:
            parts.append(pd.DataFrame({d.rep_col: np.arange(d.n_per_group), d.group_col: g,
                                       d.y_col: mean + sd * rng.standard_normal(d.n_per_group)}))
    return pd.concat(parts, ignore_index=True)


def paired_table(d: PairedDesign, effects: dict, rng: np.random.Generator) -> pd.DataFrame:
    """`effects`: stratum -> true within-replicate difference."""
    parts = []
    for i, (label, sd) in enumerate(zip(d.strata, d.sd_diff)):
        n = d.n_of(i)
        u = rng.standard_normal(n)
        treat = u + effects[label] + sd * rng.standard_normal(n)
        for values, y in ((d.control, u), (d.treatment, treat)):
            part = {d.rep_col: np.arange(n), d.group_col: values[0], d.y_col: y}
            if d.strata_col:
                part[d.strata_col] = label
            parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def simulate(design, truth, rng: np.random.Generator, columns: list[str], where: dict | None = None,
             ranges: dict | None = None) -> pd.DataFrame:
    """One table. `truth`: working-scale effect (a float), or stratum -> slope for trends."""
    if isinstance(design, StratifiedDesign):
        parts = []
        for label, part in design.parts:
            t = truth[label] if isinstance(truth, dict) else float(truth)
            parts.append(simulate(part, t, rng, []).assign(**{design.strata_col: label}))
        frame = pd.concat(parts, ignore_index=True)
    elif isinstance(design, CorrelationDesign):
        frame = correlation_table(design, truth if isinstance(truth, dict) else float(truth), rng)
    elif isinstance(design, TrendDesign):
        slopes = truth if isinstance(truth, dict) else {k: float(truth) for k in design.stratum_index()}
        frame = trend_table(design, slopes, rng)
    elif isinstance(design, MeanDesign):
        frame = mean_table(design, float(truth), rng)
    elif isinstance(design, DifferenceDesign):
        frame = difference_table(design, float(truth), rng)
    elif isinstance(design, PairedDesign):
        effects = truth if isinstance(truth, dict) else {k: float(truth) for k in design.strata}
        frame = paired_table(design, effects, rng)
    else:
        raise TypeError(f"no simulator for {type(design).__name__}")
    return _complete(frame, columns, where, ranges)


def per_replicate_sd(design, result) -> float:
    """Spread across replicates of what the kind reduced each replicate to (for the realism check)."""
    if isinstance(design, CorrelationDesign):
        r = np.array(list(result.details.get("per_replicate_r", {}).values()), dtype=float)
        return float(np.std(np.arctanh(np.clip(r, -0.999999, 0.999999)), ddof=1)) if len(r) > 1 else math.nan
    return math.nan
