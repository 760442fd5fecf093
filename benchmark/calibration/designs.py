"""Designs: the structure and variance of an evidence table, enough to simulate look-alikes.

One design class per test kind. A design comes either from a real evidence table (structure and
variance measured on it) or from documented defaults; each knows the true standard error of its
kind's estimate (working scale) so the analytic power can be set beside the simulated rates.
The truth is always set on the working scale of the kind (Fisher z for correlations), where the
kind's estimate is (approximately) t-distributed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.claims.spec import TestSpec
from benchmark.stats.decide import design_distance_w


def psd_root(cov: np.ndarray) -> np.ndarray:
    """A matrix A with A A^T = the nearest positive semi-definite matrix to `cov` (eigenvalues
    clipped at 0): a variance component estimated below zero is taken as zero."""
    cov = np.atleast_2d(np.asarray(cov, dtype=float))
    cov = (cov + cov.T) / 2
    vals, vecs = np.linalg.eigh(cov)
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def spearman_z_var(rho_s: float, n: int) -> float:
    """Sampling variance of Fisher z of a Spearman correlation of n pairs (Bonett & Wright 2000)."""
    return (1.0 + rho_s**2 / 2.0) / max(n - 3, 1)


@dataclasses.dataclass(frozen=True)
class CorrelationDesign:
    """Per-unit table: replicates x strata x units, correlation computed per replicate and stratum.

    True Fisher z of replicate i in stratum l: effect + offsets[l] + u_il, u_i ~ N(0, cov) across
    strata (the real between-network spread left after removing the within-network sampling
    noise); the units of (i, l) are bivariate normal with that correlation (Spearman converted to
    the Pearson of the latent normal, 2 sin(pi rho_s / 6)).
    """

    kind = "replicate_correlation"
    rep_col: str
    x_col: str
    y_col: str
    strata_col: str | None
    method: str
    n_reps: int
    strata: tuple
    units: tuple[int, ...]
    offsets: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    source: str
    real_rep_sd: float = math.nan  # SD of per-replicate mean z in the real table

    def sampling_var(self, z: float) -> np.ndarray:
        r = math.tanh(z)
        if self.method == "spearman":
            return np.array([spearman_z_var(r, m) for m in self.units])
        return np.array([1.0 / max(m - 3, 1) for m in self.units])

    def rep_var(self, effect_w: float = 0.0) -> float:
        """Variance of one replicate's stratum-averaged z."""
        L = len(self.units)
        cov = np.asarray(self.cov)
        return float(self.sampling_var(effect_w).sum() / L**2 + cov.sum() / L**2)

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        return math.sqrt(self.rep_var(effect_w) / self.n_reps), float(self.n_reps - 1)

    def stratum_ses(self, effect_w: float = 0.0) -> list[tuple[float, float]]:
        """Each stratum's own SE (an every_stratum claim tests each stratum alone)."""
        var = self.sampling_var(effect_w) + np.diag(np.asarray(self.cov))
        return [(math.sqrt(v / self.n_reps), float(self.n_reps - 1)) for v in var]

    def with_reps(self, n: int) -> "CorrelationDesign":
        return dataclasses.replace(self, n_reps=n)


@dataclasses.dataclass(frozen=True)
class TrendDesign:
    """One row per network: y = intercept + slope * x_used + shape(level) + noise(level).

    `rows` holds the structural columns (replicate, x, strata, other declared columns) of every
    row that passes the claim's filters; `shape` is the real table's departure of the level means
    from a straight line (zero by default), `sd` the within-level noise SD per (stratum, level).
    """

    kind = "trend"
    rep_col: str
    x_col: str
    y_col: str
    strata_col: str | None
    rows: pd.DataFrame
    x_used: np.ndarray
    intercept: dict
    shape: np.ndarray  # per row
    sd: np.ndarray  # per row
    source: str
    real_rep_sd: float = math.nan  # residual SD of the real OLS fit (weakest stratum)
    fit_sd: np.ndarray | None = None  # per row: residual SD of the real OLS fit in its stratum

    def as_line(self) -> "TrendDesign":
        """The test's own model: a straight line with the real fit's residual SD as pure noise
        (the real table's curvature treated as if it were scatter)."""
        return dataclasses.replace(self, shape=np.zeros(len(self.rows)), sd=self.fit_sd,
                                   source=self.source + ", as a straight line with its residual SD")

    def stratum_index(self) -> dict:
        if self.strata_col is None:
            return {"all": np.arange(len(self.rows))}
        keys = self.rows[self.strata_col].to_numpy()
        return {k: np.flatnonzero(keys == k) for k in sorted(pd.unique(keys))}

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        """Largest (over strata) true SE of the OLS slope under heteroscedastic noise."""
        worst = (0.0, math.inf)
        for idx in self.stratum_index().values():
            x = self.x_used[idx]
            xc = x - x.mean()
            w = xc / (xc**2).sum()
            se = float(math.sqrt((w**2 * self.sd[idx] ** 2).sum()))
            if se > worst[0]:
                worst = (se, float(len(idx) - 2))
        return worst

    def n_strata(self) -> int:
        return len(self.stratum_index())


@dataclasses.dataclass(frozen=True)
class MeanDesign:
    """Rows nested in replicates: y = effect + tau * u_rep + sigma * e_row."""

    kind = "replicate_mean"
    rep_col: str
    y_col: str
    n_reps: int
    rows_per_rep: int
    tau: float
    sigma: float
    source: str
    real_rep_sd: float = math.nan

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        return math.sqrt((self.tau**2 + self.sigma**2 / self.rows_per_rep) / self.n_reps), float(self.n_reps - 1)

    def with_reps(self, n: int) -> "MeanDesign":
        return dataclasses.replace(self, n_reps=n)


@dataclasses.dataclass(frozen=True)
class DifferenceDesign:
    """Networks in two arms (group values), one mean per network: control ~ N(0, sd_c),
    treatment ~ N(effect, sd_t); unequal SDs exercise Welch's correction."""

    kind = "mean_difference"
    rep_col: str
    y_col: str
    group_col: str
    treatment: tuple
    control: tuple
    n_per_group: int
    sd_treatment: float
    sd_control: float
    source: str
    real_rep_sd: float = math.nan

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        nt = self.n_per_group * len(self.treatment)
        nc = self.n_per_group * len(self.control)
        vt, vc = self.sd_treatment**2 / nt, self.sd_control**2 / nc
        df = (vt + vc) ** 2 / (vt**2 / (nt - 1) + vc**2 / (nc - 1))
        return math.sqrt(vt + vc), float(df)

    def with_reps(self, n: int) -> "DifferenceDesign":
        return dataclasses.replace(self, n_per_group=n)


@dataclasses.dataclass(frozen=True)
class StratifiedDesign:
    """A claim that must hold in every stratum (`every_stratum`) whose kind has no strata of its own
    (replicate_mean, mean_difference): one design per stratum, simulated side by side with the
    stratum column set, each with its own truth (heterogeneous strata), its own replicates and
    variance as measured in that stratum of the real table."""

    strata_col: str
    parts: tuple  # ((label, design), ...)
    source: str

    @property
    def kind(self) -> str:
        return self.parts[0][1].kind

    @property
    def strata(self) -> tuple:
        return tuple(label for label, _ in self.parts)

    @property
    def real_rep_sd(self) -> float:
        sds = [d.real_rep_sd for _, d in self.parts if math.isfinite(d.real_rep_sd)]
        return max(sds) if sds else math.nan

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        """The largest stratum SE (the stratum that decides the intersection-union test)."""
        return max(d.true_se(effect_w) for _, d in self.parts)

    def stratum_ses(self, effect_w: float = 0.0) -> list[tuple[float, float]]:
        return [d.true_se(effect_w) for _, d in self.parts]

    def n_strata(self) -> int:
        return len(self.parts)

    def with_reps(self, n: int) -> "StratifiedDesign":
        return dataclasses.replace(self, parts=tuple((label, d.with_reps(n)) for label, d in self.parts))


Design = CorrelationDesign | TrendDesign | MeanDesign | DifferenceDesign | StratifiedDesign


def distance_w(spec: TestSpec, to_w) -> float:
    """Working-scale distance between the support test's boundary and the design point."""
    return design_distance_w(spec, to_w)


def rep_z(frame: pd.DataFrame, rep: str, strata: str | None, x: str, y: str, method: str) -> pd.DataFrame:
    """Fisher z of the correlation per (replicate, stratum), as the kind computes it."""
    corr = stats.spearmanr if method == "spearman" else stats.pearsonr
    rows = []
    groups = [rep] + ([strata] if strata else [])
    for key, g in frame.groupby(groups, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if len(g) < 3 or g[x].nunique() < 2 or g[y].nunique() < 2:
            continue
        r = float(corr(g[x], g[y])[0])
        if math.isfinite(r):
            rows.append({"rep": key[0], "stratum": key[1] if strata else "all", "n": len(g),
                         "z": math.atanh(max(-0.999999, min(0.999999, r)))})
    return pd.DataFrame(rows, columns=["rep", "stratum", "n", "z"])


@dataclasses.dataclass(frozen=True)
class PairedDesign:
    """Replicates measured under both arms (a seed trained at every alpha, a generator's images in
    both contexts): per replicate, control = u, treatment = u + effect + sd_diff * e, so the
    per-replicate difference has SD `sd_diff` in each stratum (strata: intersection-union).
    `n_by_stratum`: replicates per stratum where they differ (a design sized per stratum, e.g.
    leavitt2021 L2 v3: 161 seeds in mnist1d, 16 in digits); empty: `n_reps` in every stratum."""

    kind = "paired_difference"
    rep_col: str
    y_col: str
    group_col: str
    treatment: tuple
    control: tuple
    n_reps: int
    strata_col: str | None
    strata: tuple            # stratum labels ("all" without strata)
    sd_diff: tuple           # per stratum
    source: str
    real_rep_sd: float = math.nan
    n_by_stratum: tuple = ()

    def n_of(self, i: int) -> int:
        return int(self.n_by_stratum[i]) if self.n_by_stratum else self.n_reps

    def true_se(self, effect_w: float = 0.0) -> tuple[float, float]:
        """The largest stratum SE (the stratum that decides the intersection-union test)."""
        se, n = max((sd / math.sqrt(self.n_of(i)), self.n_of(i)) for i, sd in enumerate(self.sd_diff))
        return se, float(n - 1)

    def with_reps(self, n: int) -> "PairedDesign":
        return dataclasses.replace(self, n_reps=n, n_by_stratum=())

    def n_strata(self) -> int:
        return len(self.strata) if self.strata_col else 1
