"""Power of a one-sided t-type test, from the noncentral t distribution.

For the one-sample case this equals statsmodels' TTestPower (a test checks that); the same formula
serves regression slopes and Welch differences, where statsmodels has no direct helper.
"""

from __future__ import annotations

import math

from scipy import stats


def one_sided_t_power(distance: float, se: float, df: float, alpha: float) -> float:
    """P(reject H0 at one-sided level alpha) when the truth lies `distance` (>0 in the tested
    direction) from the null threshold and the estimator has standard error `se` on `df` df."""
    if not (math.isfinite(distance) and math.isfinite(df)) or df <= 0:
        return math.nan
    if se == 0:
        return 1.0 if distance > 0 else 0.0
    if not math.isfinite(se) or se < 0:
        return math.nan
    crit = stats.t.ppf(1 - alpha, df)
    return float(stats.nct.sf(crit, df, distance / se))


def replicates_for_power(distance: float, sd: float, alpha: float, power: float, max_n: int = 10_000) -> int:
    """Smallest n (replicates) giving `power` for a one-sample one-sided t-test; uses statsmodels."""
    from statsmodels.stats.power import TTestPower

    if sd <= 0:
        return 2
    n = TTestPower().solve_power(effect_size=distance / sd, alpha=alpha, power=power, alternative="larger")
    return int(min(max_n, math.ceil(n)))
