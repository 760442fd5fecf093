"""Power of a one-sided t-type test, from the noncentral t distribution.

For the one-sample case this equals statsmodels' TTestPower (a test checks that); the same formula
serves regression slopes and Welch differences, where statsmodels has no direct helper.
"""

from __future__ import annotations

import math

import numpy as np
from benchmark.stats import tdist


def one_sided_t_power(distance: float, se: float, df: float, alpha: float) -> float:
    """P(reject H0 at one-sided level alpha) when the truth lies `distance` (>0 in the tested
    direction) from the null threshold and the estimator has standard error `se` on `df` df."""
    if not (math.isfinite(distance) and math.isfinite(df)) or df <= 0:
        return math.nan
    if se == 0:
        return 1.0 if distance > 0 else 0.0
    if not math.isfinite(se) or se < 0:
        return math.nan
    crit = tdist.ppf(1 - alpha, df)
    return float(tdist.nct_sf(crit, df, distance / se))


def replicates_for_power(distance: float, sd: float, alpha: float, power: float, max_n: int = 10_000) -> int:
    """Smallest n (replicates) giving `power` for a one-sample one-sided t-test; uses statsmodels."""
    from statsmodels.stats.power import TTestPower

    if sd <= 0:
        return 2
    n = TTestPower().solve_power(effect_size=distance / sd, alpha=alpha, power=power, alternative="larger")
    return int(min(max_n, math.ceil(n)))


def verdict_power(distance: float, se: float, df: float, alpha: float, directional: bool = True) -> float:
    """P(verdict `reproduced`) when the truth sits at the design point, for a t-type estimate.

    `one_sided_t_power` is the power of the support test alone. For a directional claim the rule
    calls an estimate that is also significantly below the smallest effect of interest
    `falsified` (it checks the contrary first), so P(reproduced) is slightly lower. With the
    estimate ~ N(distance, se^2) independent of se_hat^2 ~ se^2 chi2_df / df (exact for a
    one-sample mean and an OLS slope, approximate for Welch and Fisher-z averages):
        P = E[ P(estimate > max(t se_hat, distance - t se_hat if directional)) ]
    There is no power gate at run time (the design's power is fixed in the claim file).
    """
    if not (math.isfinite(distance) and math.isfinite(se) and se > 0 and math.isfinite(df) and df > 0):
        return math.nan
    if not directional:
        return one_sided_t_power(distance, se, df, alpha)
    t = float(tdist.ppf(1 - alpha, df))
    from scipy import integrate, special

    def integrand(u: float) -> float:
        s_hat = se * math.sqrt(u / df)
        lower = max(t * s_hat, distance - t * s_hat)
        # stats.norm.sf and stats.chi2.pdf as scipy computes them, without their per-call overhead
        log_pdf = special.xlogy(df / 2.0 - 1, u) - u / 2.0 - special.gammaln(df / 2.0) - (math.log(2) * df) / 2.0
        return float(special.ndtr(-(lower - distance) / se) * np.exp(log_pdf))

    from scipy import stats  # verdict_power only (planning and calibration)

    hi = float(stats.chi2.ppf(1 - 1e-12, df))
    value, _ = integrate.quad(integrand, 0.0, hi, limit=200)
    return float(min(1.0, max(0.0, value)))
