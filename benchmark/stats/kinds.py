"""The tests behind the test kinds. Each kind turns a validated table into a TestResult.

A kind's params (which it requires and accepts, which name numeric columns, each value's
vocabulary) are declared in the claim language, benchmark.claims.kinds, and checked when a claim
file is loaded; a test here registers against that declaration. The replicate is always the
trained network (or generator): per-unit data are first reduced to one number per replicate, never
pooled across networks.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from benchmark.stats import tdist
from benchmark.claims.kinds import PARAMS, KindParams, check_params as check_declared
from benchmark.claims.spec import ClaimSpec, TestSpec
from benchmark.errors import EvidenceError
from benchmark.stats.decide import (TRANSFORMS, Inference, heterogeneity, observed_power, one_sided_p, stratum,
                                    summarize, thresholds, with_preconditions)
from benchmark.stats.preconditions import check_preconditions, drop_failing
from benchmark.stats.evidence import check_values, row_name, validate
from benchmark.stats.moments import moments, welch as welch_se
from benchmark.stats.result import TestResult


@dataclasses.dataclass(frozen=True)
class Kind:
    """A test kind: its declaration in the claim language (benchmark.claims.kinds) and the test that runs it."""
    name: str
    run: Callable[[pd.DataFrame, TestSpec], TestResult]
    doc: str
    declared: KindParams

    numeric_params = property(lambda self: self.declared.numeric)  # params whose values are numeric column names
    required_params = property(lambda self: self.declared.required)
    optional_params = property(lambda self: self.declared.optional)
    accepted_params = property(lambda self: self.declared.accepted_params)
    estimate_range = property(lambda self: self.declared.estimate_range)


KINDS: dict[str, Kind] = {}


def register(name: str):
    """Attach the test that runs kind `name` to its declaration in the claim language
    (benchmark.claims.kinds.PARAMS: which params it takes, which name numeric columns)."""
    decl = PARAMS[name]

    def deco(fn):
        KINDS[name] = Kind(name, fn, (fn.__doc__ or "").strip().splitlines()[0], decl)
        return fn
    return deco


def check_params(spec: ClaimSpec, path: str | Path) -> Kind:
    """The claim's test kind, its params checked against the kind's declaration (claims.kinds)."""
    check_declared(spec, path)
    return KINDS[spec.test.kind]


def _one_sample(values: np.ndarray, transform: str = "identity") -> Inference:
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n < 2:
        return Inference(float(values.mean()) if n else math.nan, math.nan, max(n - 1, 0), n, transform)
    d = moments(values)
    return Inference(d.mean, d.std_mean, float(n - 1), n, transform)


def _filter(frame: pd.DataFrame, p: dict) -> pd.DataFrame:
    """Optional `where: {column: [allowed values]}` and `range: {column: [lo, hi]}` (inclusive)."""
    for col, allowed in (p.get("where") or {}).items():
        frame = frame[frame[col].isin(allowed if isinstance(allowed, list) else [allowed])]
    for col, (lo, hi) in (p.get("range") or {}).items():
        vals = pd.to_numeric(frame[col])
        keep = np.ones(len(frame), bool)
        if lo is not None:
            keep &= vals.to_numpy() >= lo
        if hi is not None:
            keep &= vals.to_numpy() <= hi
        frame = frame[keep]
    return frame


def _intersection(kind: str, infs: dict[str, Inference], spec: TestSpec, details: dict) -> TestResult:
    """`every_stratum`: the claim must hold in each stratum (intersection-union).

    Reproduced when every stratum's one-sided support test rejects at alpha (support p = the
    largest); falsified when some stratum is significantly short of the claim at alpha / k
    (Bonferroni over k strata: against p = k x the smallest). The printed interval redoes both
    halves from the strata's own intervals: on the claimed side the weakest stratum's (1 - 2 alpha)
    bound, on the other side the weakest (1 - 2 alpha / k) bound, e.g. [min lower(alpha),
    min upper(alpha / k)] for a claim in the 'greater' direction; the estimate is the smallest
    effect in the claimed direction. Power = product over strata (exact for disjoint networks, a
    lower bound for layers of the same networks). Every stratum's own test is in `strata`.
    """
    col = details.get("strata", "stratum")
    strata = tuple(stratum(f"{col} {name}", inf, spec) for name, inf in infs.items())
    sup_thr, ag_thr, sup_side, ag_side = thresholds(spec)
    sups = [one_sided_p(inf, sup_thr, sup_side) for inf in infs.values()]
    ags = [one_sided_p(inf, ag_thr, ag_side) for inf in infs.values()]
    pws = [observed_power(inf, spec) for inf in infs.values()]
    k = len(infs)
    sign = 1.0 if sup_side == "greater" else -1.0

    def smallness(name: str) -> float:  # NaN estimates count as the weakest
        e = infs[name].estimate
        return -math.inf if not math.isfinite(e) else sign * e

    weakest = min(infs, key=smallness)
    to_r = TRANSFORMS[infs[weakest].transform][1]

    def bound(inf: Inference, a: float, upper: bool) -> float:
        q = float(tdist.ppf(1 - a, inf.df)) if inf.df > 0 else math.nan
        return inf.estimate + (q if upper else -q) * inf.se

    near = [bound(inf, spec.alpha, upper=sup_side == "less") for inf in infs.values()]        # claimed side
    far = [bound(inf, spec.alpha / k, upper=sup_side == "greater") for inf in infs.values()]  # contrary side
    pick = min if sup_side == "greater" else max
    has_nan = lambda v: any(not math.isfinite(x) for x in v)  # noqa: E731
    near_w = math.nan if has_nan(near) else pick(near)
    far_w = math.nan if has_nan(far) else pick(far)
    lo, hi = (near_w, far_w) if sup_side == "greater" else (far_w, near_w)
    p_support = math.nan if any(math.isnan(p) for p in sups) else float(max(sups))
    p_against = min(1.0, k * float(np.nanmin(ags))) if not all(map(math.isnan, ags)) else math.nan
    rule = (f"every_stratum over {k} strata: interval = [{'min' if sup_side == 'greater' else 'max'} lower bound at "
            f"{'alpha' if sup_side == 'greater' else 'alpha/k'}, {'min' if sup_side == 'greater' else 'max'} upper bound at "
            f"{'alpha/k' if sup_side == 'greater' else 'alpha'}] over strata")
    result = summarize(kind, infs[weakest], spec, strata, {**details, "weakest_stratum": str(weakest), "interval_rule": rule},
                       p_support=p_support, p_against=p_against, power=float(np.prod(pws)))
    return dataclasses.replace(result, ci_low=to_r(lo) if math.isfinite(lo) else math.nan,
                               ci_high=to_r(hi) if math.isfinite(hi) else math.nan,
                               estimand="every_stratum", heterogeneity=heterogeneity(strata))


def _row_groups(frame: pd.DataFrame, by):
    """(key, positions of its rows in table order) for each group of `frame.groupby(by, sort=True)`:
    the same groups, keys and order (missing keys dropped), without building a sub-frame per group
    (the kinds read one or two columns of each)."""
    keys = [frame[c] for c in by] if isinstance(by, list) else frame[by]
    for key, at in pd.Series(np.arange(len(frame)), index=frame.index).groupby(keys, sort=True):
        yield key, at.to_numpy()


def _distinct(values: np.ndarray) -> int:
    """Number of distinct non-missing values (what Series.nunique() counts), of an array."""
    uniques = pd.unique(values)
    return int(len(uniques) - pd.isna(uniques).sum())


def _group_mean(values: pd.Series, keys: pd.Series | list[pd.Series], rows: np.ndarray) -> pd.Series:
    """Mean of `values` per key (or keys) over the rows at positions `rows` (ascending): what
    `sub.groupby(key)[value].mean()` gives for the sub-frame of those rows (pandas' group mean, whose
    summation depends on the values' order and on whether the keys come sorted: both kept)."""
    by = [k.take(rows) for k in keys] if isinstance(keys, list) else keys.take(rows)
    return values.take(rows).groupby(by).mean()


@register("replicate_correlation")
def replicate_correlation(frame: pd.DataFrame, spec: TestSpec) -> TestResult:
    """Correlation of x and y within each replicate (network), Fisher-z averaged, t-test across replicates.

    params: x, y, replicate (default seed), strata (optional column, e.g. layer: correlations are
    computed within each stratum and averaged per replicate; per-stratum results are reported),
    method: spearman | pearson; optional `where` / `range` filters on the rows (e.g. one layer, or
    units that fire).
    """
    p = spec.params
    frame = _filter(frame, p)
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    method = p.get("method", "spearman")
    from scipy import stats  # only the correlation kind needs scipy.stats (~0.4 s to import)

    corr = stats.spearmanr if method == "spearman" else stats.pearsonr
    rows = []
    groups = [rep] + ([strata_col] if strata_col else [])
    xs, ys = np.asarray(frame[p["x"]]), np.asarray(frame[p["y"]])  # what the correlation reads of a column
    for key, at in _row_groups(frame, groups):
        key = key if isinstance(key, tuple) else (key,)
        x, y = xs[at], ys[at]
        if len(at) < 3 or _distinct(x) < 2 or _distinct(y) < 2:
            continue  # correlation undefined within this network/stratum
        r = float(corr(x, y)[0])
        if math.isfinite(r):
            rows.append({"rep": key[0], "stratum": key[1] if strata_col else "all", "z": math.atanh(max(-0.999999, min(0.999999, r)))})
    per = pd.DataFrame(rows, columns=["rep", "stratum", "z"])
    details = {"method": method, "units_per_replicate": float(frame.groupby(rep).size().mean()) if len(frame) else 0.0}
    if strata_col and spec.resolved_estimand() == "every_stratum":
        infs = {name: _one_sample(g.groupby("rep")["z"].mean().to_numpy(), "fisher_z")
                for name, g in per.groupby("stratum", sort=True)}
        if infs:
            return _intersection("replicate_correlation", infs, spec, {**details, "strata": strata_col})
    # pooled (the claim's one effect): each replicate's correlations averaged over its strata with
    # equal weights (Fisher z), then tested across replicates; every stratum reported beside it
    per_rep = per.groupby("rep")["z"].mean()
    inf = _one_sample(per_rep.to_numpy(), "fisher_z")
    strata = tuple(stratum(f"{strata_col} {name}", _one_sample(g["z"].to_numpy(), "fisher_z"), spec)
                   for name, g in per.groupby("stratum", sort=True)) if strata_col else ()
    details["per_replicate_r"] = {str(k): math.tanh(v) for k, v in per_rep.items()}
    result = summarize("replicate_correlation", inf, spec, strata, details)
    if strata_col:
        result = dataclasses.replace(result, estimand="pooled", heterogeneity=heterogeneity(strata))
    return result


def _ols_slope(x: np.ndarray, y: np.ndarray) -> Inference:
    n = len(x)
    if n < 3 or np.unique(x).size < 2:
        return Inference(math.nan, math.nan, max(n - 2, 0), n)
    from statsmodels.regression.linear_model import OLS  # only trends need statsmodels
    from statsmodels.tools.tools import add_constant

    fit = OLS(y, add_constant(x, has_constant="add")).fit()
    return Inference(float(fit.params[1]), float(fit.bse[1]), float(fit.df_resid), n)


def trend_frame(frame: pd.DataFrame, p: dict) -> pd.DataFrame:
    """The rows a trend test fits (filtered; averaged per network if `aggregate: mean`), with the
    fitted abscissa in column `_x` (the level's rank under `x_scale: rank`). Shared with figures."""
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)
    if p.get("aggregate") == "mean":  # several conditions per network (e.g. corruption x severity)
        keys = [rep, p["x"]] + ([strata_col] if strata_col else [])
        frame = frame.groupby(keys, sort=True, as_index=False)[p["y"]].mean()
    elif p.get("aggregate") not in (None, "none"):
        raise ValueError(f"trend: unknown aggregate {p.get('aggregate')!r} (mean | none)")
    x = frame[p["x"]].to_numpy(float)
    if p.get("x_scale", "linear") == "rank":
        levels = np.unique(x)
        x = np.searchsorted(levels, x).astype(float)
    return frame.assign(_x=x)


@register("trend")
def trend(frame: pd.DataFrame, spec: TestSpec) -> TestResult:
    """OLS slope of a per-network response y over a factor x, one row per network.

    params: x, y, replicate (default seed), x_scale: linear | rank (levels replaced by their rank,
    for grids spanning magnitudes), strata (optional column: the claim must hold in every stratum,
    intersection-union), where / range (row filters), aggregate: mean (average y over a network's
    rows first, e.g. over corruption types and severities; the network stays the replicate).
    """
    p = spec.params
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = trend_frame(frame, p)
    dup_keys = [rep, p["x"]] + ([strata_col] if strata_col else [])
    dups = frame.duplicated(dup_keys)
    if dups.any():
        raise ValueError(f"trend needs one row per network and level; duplicated {dup_keys} rows: {int(dups.sum())}")
    details = {"levels": sorted(map(float, np.unique(frame[p["x"]]))), "x_scale": p.get("x_scale", "linear"),
               "strata": strata_col or "stratum"}
    if strata_col:
        infs = {name: _ols_slope(g["_x"].to_numpy(), g[p["y"]].to_numpy(float))
                for name, g in frame.groupby(strata_col, sort=True)}
        if not infs:
            return summarize("trend", Inference(math.nan, math.nan, 0, 0), spec, (), details)
        return _intersection("trend", infs, spec, details)
    inf = _ols_slope(frame["_x"].to_numpy(), frame[p["y"]].to_numpy(float))
    details["replicates"] = int(frame[rep].nunique())
    return summarize("trend", inf, spec, (), details)


@register("replicate_mean")
def replicate_mean(frame: pd.DataFrame, spec: TestSpec) -> TestResult:
    """Mean of y over replicates (rows first averaged within each replicate), one-sample t-test.

    params: y, replicate (default seed), where / range (row filters), strata (optional column:
    the claim must hold in every stratum, intersection-union).
    """
    p = spec.params
    rep = p.get("replicate", "seed")
    frame = _filter(frame, p)
    if p.get("strata"):
        infs = {name: _one_sample(_group_mean(frame[p["y"]], frame[rep], at).to_numpy())
                for name, at in _row_groups(frame, p["strata"])}
        if infs:
            return _intersection("replicate_mean", infs, spec, {"strata": p["strata"]})
    per_rep = frame.groupby(rep)[p["y"]].mean()
    inf = _one_sample(per_rep.to_numpy())
    return summarize("replicate_mean", inf, spec, (), {"rows_per_replicate": float(frame.groupby(rep).size().mean()) if len(frame) else 0.0})


@register("mean_difference")
def mean_difference(frame: pd.DataFrame, spec: TestSpec) -> TestResult:
    """Difference of per-network means, treatment minus control, Welch t (unequal variances).

    params: y, group (column), treatment / control (lists of group values), replicate (default
    seed; rows are averaged within each replicate and group first), strata (optional column: the
    claim must hold in every stratum, intersection-union), where / range (row filters).
    """
    p = spec.params
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)

    y, keys = frame[p["y"]], [frame[rep], frame[p["group"]]]
    in_arm = {arm: frame[p["group"]].isin(p[arm] if isinstance(p[arm], list) else [p[arm]]).to_numpy()
              for arm in ("treatment", "control")}

    def side(rows: np.ndarray, arm: str) -> np.ndarray:
        """Per (replicate, group) means over the arm's rows among the rows at positions `rows`."""
        return _group_mean(y, keys, rows[in_arm[arm][rows]]).to_numpy(float)

    def welch(rows: np.ndarray) -> tuple[Inference, np.ndarray, np.ndarray]:
        a, b = side(rows, "treatment"), side(rows, "control")
        n = len(a) + len(b)  # replicates the verdict rests on (both arms)
        if len(a) < 2 or len(b) < 2:
            return Inference(math.nan, math.nan, 0, n), a, b
        se, dof = welch_se(moments(a), moments(b))  # statsmodels' CompareMeans, same bytes (benchmark.stats.moments)
        return Inference(float(a.mean() - b.mean()), se, dof if se > 0 else float(len(a) + len(b) - 2), n), a, b

    if strata_col:  # the difference must hold in every stratum (intersection-union)
        parts = {name: welch(rows) for name, rows in _row_groups(frame, strata_col)}
        details = {"strata": strata_col,
                   "mean_treatment": {str(k): float(v[1].mean()) if len(v[1]) else math.nan for k, v in parts.items()},
                   "mean_control": {str(k): float(v[2].mean()) if len(v[2]) else math.nan for k, v in parts.items()},
                   "n_treatment": {str(k): len(v[1]) for k, v in parts.items()},
                   "n_control": {str(k): len(v[2]) for k, v in parts.items()}}
        if not parts:
            return summarize("mean_difference", Inference(math.nan, math.nan, 0, 0), spec, (), details)
        return _intersection("mean_difference", {k: v[0] for k, v in parts.items()}, spec, details)
    inf, a, b = welch(np.arange(len(frame)))
    return summarize("mean_difference", inf, spec, (), {"n_treatment": len(a), "n_control": len(b),
                                                       "mean_treatment": float(a.mean()) if len(a) else math.nan,
                                                       "mean_control": float(b.mean()) if len(b) else math.nan})


@register("paired_difference")
def paired_difference(frame: pd.DataFrame, spec: TestSpec) -> TestResult:
    """Within-replicate difference, treatment minus control, one-sample t across replicates.

    params: y, group (column), treatment / control (lists of group values), replicate (default
    seed: the pairing unit, e.g. a seed trained at every alpha, or a generator whose images fall
    into both contexts), strata (optional column: the claim must hold in every stratum,
    intersection-union), where / range (row filters). Per replicate: mean y over its treatment rows
    minus mean y over its control rows; a replicate lacking either side is dropped (and counted in
    `details.unpaired`).
    """
    p = spec.params
    rep, strata_col = p.get("replicate", "seed"), p.get("strata")
    frame = _filter(frame, p)
    treat = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
    ctrl = p["control"] if isinstance(p["control"], list) else [p["control"]]

    y, reps = frame[p["y"]], frame[rep]
    in_treat, in_ctrl = frame[p["group"]].isin(treat).to_numpy(), frame[p["group"]].isin(ctrl).to_numpy()

    def diffs(rows: np.ndarray) -> tuple[pd.Series, int]:
        """The differences over the rows at positions `rows` (table order), and the replicates
        lacking a side. Each side's mean is the group mean over that side's rows in table order,
        the same numbers as from the side's sub-frame, without building the sub-frames."""
        t = _group_mean(y, reps, rows[in_treat[rows]])
        c = _group_mean(y, reps, rows[in_ctrl[rows]])
        if t.index.equals(c.index):  # every replicate has both sides: t and c align as they are
            return (t - c).sort_index(), 0
        paired = t.index.intersection(c.index)
        unpaired = len(t.index.union(c.index)) - len(paired)
        return (t[paired] - c[paired]).sort_index(), unpaired

    if strata_col:
        parts = {name: diffs(rows) for name, rows in _row_groups(frame, strata_col)}
        details = {"strata": strata_col, "unpaired": {str(k): v[1] for k, v in parts.items()},
                   "per_replicate": {str(k): {str(r): float(d) for r, d in v[0].items()} for k, v in parts.items()}}
        if not parts:
            return summarize("paired_difference", Inference(math.nan, math.nan, 0, 0), spec, (), details)
        return _intersection("paired_difference", {k: _one_sample(v[0].to_numpy()) for k, v in parts.items()}, spec, details)
    d, unpaired = diffs(np.arange(len(frame)))
    return summarize("paired_difference", _one_sample(d.to_numpy()), spec, (),
                     {"unpaired": unpaired, "per_replicate": {str(r): float(v) for r, v in d.items()}})


def run_test(frame: pd.DataFrame, spec: ClaimSpec, claim_path: str | Path, table_path: str | Path,
             scale: str = "embedded") -> TestResult:
    """Validate the table for this claim, run its declared preconditions, then its test kind (raw
    p-values at the claim's own alpha, no multiplicity).

    The instrument is checked first: a replicate that fails a check may have no measurement at all
    (a layer without detectors has no relative fall, a window with two checkpoints no slope), so
    the measured columns may be NaN in the rows of replicates a check fails, and only there; those
    rows are left out of the (then descriptive) estimate. NaN anywhere else is refused, naming the row."""
    kind = check_params(spec, claim_path)
    measured = [spec.test.params[k] for k in kind.numeric_params]
    checked = [pre.column for pre in spec.preconditions if pre.column not in measured]
    if not spec.preconditions:
        frame = validate(frame, spec, table_path, measured)
        check_selection(frame, spec, table_path)
        check_strata(frame, spec, table_path, scale)
        return _run(kind, frame, spec, table_path)
    frame = validate(frame, spec, table_path, measured + checked, may_be_nan=tuple(measured))
    check_selection(frame, spec, table_path)
    check_strata(frame, spec, table_path, scale)
    checks = check_preconditions(frame, spec)
    frame = _without_unmeasured(drop_failing(frame, spec, checks), spec, checks, measured, table_path)
    return with_preconditions(_run(kind, frame, spec, table_path), checks, spec.test)


def _run(kind: Kind, frame: pd.DataFrame, spec: ClaimSpec, table_path: str | Path) -> TestResult:
    try:
        return kind.run(frame, spec.test)
    except ValueError as exc:  # what a kind refuses in a table (e.g. trend: two rows for one network and level)
        raise EvidenceError(table_path, "<rows>", str(exc)) from None


def check_selection(frame: pd.DataFrame, spec: ClaimSpec, table_path: str | Path) -> None:
    """The rows the test selects exist: its `where` filter and each of its treatment and control
    groups match rows, in a column of the same type (alpha written as text matches no number, and a
    missing group would otherwise read as "inconclusive: 0 replicates"); `range` columns are numbers
    and the filters leave rows."""
    p = spec.test.params
    for col, allowed in (p.get("where") or {}).items():
        check_values(frame, col, allowed if isinstance(allowed, list) else [allowed], table_path,
                     f"test.params.where.{col}")
    for col in p.get("range") or {}:
        check_values(frame, col, [], table_path, f"test.params.range.{col}")
    selected = _filter(frame, p)
    if selected.empty:
        raise EvidenceError(table_path, ", ".join([*(p.get("where") or {}), *(p.get("range") or {})]),
                            "no row passes the claim's filters together (test.params.where / range)")
    if "group" in p:
        for role in ("treatment", "control"):
            vals = p[role] if isinstance(p[role], list) else [p[role]]
            check_values(selected, p["group"], vals, table_path, f"test.params.{role}", complete=True)


def check_strata(frame: pd.DataFrame, spec: ClaimSpec, table_path: str | Path, scale: str = "embedded") -> None:
    """Every stratum the claim declares at `scale` (strata_levels) has rows after the claim's filters,
    and no other stratum does: "holds in every stratum" tested on fewer strata than declared is
    refused, naming the claim and the stratum, never passed."""
    col, levels = spec.test.params.get("strata"), spec.strata_levels_at(scale)
    if not col or levels is None:
        return
    present = {str(v) for v in _filter(frame, spec.test.params)[col].unique()}
    missing = [lv for lv in levels if lv not in present]
    if missing:
        raise EvidenceError(table_path, col, f"claim {spec.id}: declared stratum {missing[0]!r} has no rows "
                                             f"(declared {list(levels)}, present {sorted(present)})")
    extra = sorted(present - set(levels))
    if extra:
        raise EvidenceError(table_path, col, f"claim {spec.id}: stratum {extra[0]!r} is not declared in "
                                             f"the claim's strata at {scale} scale {list(levels)} (filter it with test.params.where, or declare it)")


def _without_unmeasured(frame: pd.DataFrame, spec: ClaimSpec, checks, measured: list[str],
                        table_path: str | Path) -> pd.DataFrame:
    """`frame` without its rows that have a NaN/inf measurement, each of which must belong to a
    replicate some precondition fails; any other such row is an evidence error."""
    if not measured:
        return frame
    values = frame[measured].to_numpy(dtype=float)
    unmeasured = ~np.isfinite(values).all(axis=1)
    if not unmeasured.any():
        return frame
    rep = spec.test.params.get("replicate", "seed")
    failing = {r for c in checks for r in c.failing}
    stray = unmeasured & ~frame[rep].astype(str).isin(failing).to_numpy()
    if stray.any():
        row = int(np.flatnonzero(stray)[0])
        col = measured[int(np.flatnonzero(~np.isfinite(values[row]))[0])]
        raise EvidenceError(table_path, col, f"NaN or infinite value in {row_name(int(frame.index[row]))} "
                                             f"({rep} {frame[rep].iloc[row]}), a replicate that passes every precondition")
    return frame[~unmeasured]
