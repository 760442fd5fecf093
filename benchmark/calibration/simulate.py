"""Simulated evidence tables: same columns and structure as the real ones, truth chosen by us.

`simulate(design, effect_w, rng, columns)` returns a table for the design's test kind in which
the kind's estimand equals `effect_w` on the working scale (per stratum for stratified trends).
Declared columns the simulation does not model are filled with 0, or with a value the claim's
`where` / `range` filters keep, so the table passes the same validation as real evidence. Every draw comes from the Generator passed in.
A job draws many tables of one design: `Simulator(design, columns, ...)` builds the structure once.
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


# Each kind's table in two halves: its structure (the rows and every column that is the same in
# each simulation, the drawn columns present as NaN at their places) and its draws (the drawn
# columns, in the table's row order). A job simulates one design hundreds of times: the structure
# is built once (Simulator) and each table is a copy of it with the draws put in, so a table costs
# its draws rather than a DataFrame per part and a concat.


def _placeholder(n: int) -> np.ndarray:
    return np.full(n, np.nan)


def correlation_structure(d: CorrelationDesign) -> pd.DataFrame:
    parts = []
    for l, m in enumerate(d.units):
        part = {d.rep_col: np.repeat(np.arange(d.n_reps), m), d.x_col: _placeholder(d.n_reps * m),
                d.y_col: _placeholder(d.n_reps * m), "unit": np.tile(np.arange(m), d.n_reps)}
        if d.strata_col:
            part[d.strata_col] = np.full(d.n_reps * m, d.strata[l])
        parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def correlation_draws(d: CorrelationDesign, effect_w, rng: np.random.Generator) -> dict:
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
    xs, ys = [], []
    for l, m in enumerate(d.units):
        x = rng.standard_normal((d.n_reps, m))
        e = rng.standard_normal((d.n_reps, m))
        r = rho[:, l : l + 1]
        y = r * x + np.sqrt(1.0 - r**2) * e
        xs.append(x.ravel())
        ys.append(y.ravel())
    return {d.x_col: np.concatenate(xs), d.y_col: np.concatenate(ys)}


def trend_structure(d: TrendDesign) -> pd.DataFrame:
    return d.rows.assign(**{d.y_col: _placeholder(len(d.rows))})


def trend_draws(d: TrendDesign, slopes: dict, rng: np.random.Generator) -> dict:
    """`slopes`: stratum -> true slope on the kind's x scale (all strata when one value)."""
    y = np.empty(len(d.rows))
    for name, idx in d.stratum_index().items():
        y[idx] = d.intercept.get(name, 0.0) + slopes[name] * d.x_used[idx] + d.shape[idx]
    y = y + d.sd * rng.standard_normal(len(d.rows))
    return {d.y_col: y}


def mean_structure(d: MeanDesign) -> pd.DataFrame:
    return pd.DataFrame({d.rep_col: np.repeat(np.arange(d.n_reps), d.rows_per_rep),
                         d.y_col: _placeholder(d.n_reps * d.rows_per_rep)})


def mean_draws(d: MeanDesign, effect_w: float, rng: np.random.Generator) -> dict:
    rep_means = effect_w + d.tau * rng.standard_normal(d.n_reps)
    y = np.repeat(rep_means, d.rows_per_rep) + d.sigma * rng.standard_normal(d.n_reps * d.rows_per_rep)
    return {d.y_col: y}


def difference_structure(d: DifferenceDesign) -> pd.DataFrame:
    return pd.concat([pd.DataFrame({d.rep_col: np.arange(d.n_per_group), d.group_col: g,
                                    d.y_col: _placeholder(d.n_per_group)})
                      for values in (d.control, d.treatment) for g in values], ignore_index=True)


def difference_draws(d: DifferenceDesign, effect_w: float, rng: np.random.Generator) -> dict:
    ys = [mean + sd * rng.standard_normal(d.n_per_group)
          for values, mean, sd in ((d.control, 0.0, d.sd_control), (d.treatment, effect_w, d.sd_treatment))
          for _ in values]
    return {d.y_col: np.concatenate(ys)}


def paired_structure(d: PairedDesign) -> pd.DataFrame:
    parts = []
    for i, label in enumerate(d.strata):
        n = d.n_of(i)
        for values in (d.control, d.treatment):
            part = {d.rep_col: np.arange(n), d.group_col: values[0], d.y_col: _placeholder(n)}
            if d.strata_col:
                part[d.strata_col] = label
            parts.append(pd.DataFrame(part))
    return pd.concat(parts, ignore_index=True)


def paired_draws(d: PairedDesign, effects: dict, rng: np.random.Generator) -> dict:
    """`effects`: stratum -> true within-replicate difference."""
    ys = []
    for i, (label, sd) in enumerate(zip(d.strata, d.sd_diff)):
        n = d.n_of(i)
        u = rng.standard_normal(n)
        treat = u + effects[label] + sd * rng.standard_normal(n)
        ys += [u, treat]  # control rows, then treatment rows
    return {d.y_col: np.concatenate(ys)}


def table_structure(design) -> pd.DataFrame:
    """The design's table with its drawn columns as NaN."""
    if isinstance(design, StratifiedDesign):
        return pd.concat([table_structure(part).assign(**{design.strata_col: label}) for label, part in design.parts],
                         ignore_index=True)
    for cls, build in STRUCTURES.items():
        if isinstance(design, cls):
            return build(design)
    raise TypeError(f"no simulator for {type(design).__name__}")


def table_draws(design, truth, rng: np.random.Generator) -> dict:
    """The drawn columns of one table. `truth`: working-scale effect (a float), or stratum -> slope
    (or effect) per stratum."""
    if isinstance(design, StratifiedDesign):
        parts = [table_draws(part, truth[label] if isinstance(truth, dict) else float(truth), rng)
                 for label, part in design.parts]
        return {col: np.concatenate([p[col] for p in parts]) for col in parts[0]}
    if isinstance(design, CorrelationDesign):
        return correlation_draws(design, truth if isinstance(truth, dict) else float(truth), rng)
    if isinstance(design, TrendDesign):
        slopes = truth if isinstance(truth, dict) else {k: float(truth) for k in design.stratum_index()}
        return trend_draws(design, slopes, rng)
    if isinstance(design, MeanDesign):
        return mean_draws(design, float(truth), rng)
    if isinstance(design, DifferenceDesign):
        return difference_draws(design, float(truth), rng)
    if isinstance(design, PairedDesign):
        effects = truth if isinstance(truth, dict) else {k: float(truth) for k in design.strata}
        return paired_draws(design, effects, rng)
    raise TypeError(f"no simulator for {type(design).__name__}")


STRUCTURES = {CorrelationDesign: correlation_structure, TrendDesign: trend_structure, MeanDesign: mean_structure,
              DifferenceDesign: difference_structure, PairedDesign: paired_structure}


class Simulator:
    """Tables of one design for a claim's declared columns: the structure built once, each call a
    copy of it with one simulation's draws put in (the frame that `simulate` returns; `assign`
    copies, so a test that writes into its table leaves the structure and the next table alone)."""

    def __init__(self, design, columns: list[str], where: dict | None = None, ranges: dict | None = None):
        self.design = design
        self.structure = _complete(table_structure(design), columns, where, ranges)

    def __call__(self, truth, rng: np.random.Generator) -> pd.DataFrame:
        return self.structure.assign(**table_draws(self.design, truth, rng))


def simulate(design, truth, rng: np.random.Generator, columns: list[str], where: dict | None = None,
             ranges: dict | None = None) -> pd.DataFrame:
    """One table. `truth`: working-scale effect (a float), or stratum -> slope for trends."""
    return Simulator(design, columns, where, ranges)(truth, rng)


def per_replicate_sd(design, result) -> float:
    """Spread across replicates of what the kind reduced each replicate to (for the realism check)."""
    if isinstance(design, CorrelationDesign):
        r = np.array(list(result.details.get("per_replicate_r", {}).values()), dtype=float)
        return float(np.std(np.arctanh(np.clip(r, -0.999999, 0.999999)), ddof=1)) if len(r) > 1 else math.nan
    return math.nan
