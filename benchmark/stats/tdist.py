"""Student t tail probabilities and quantiles, straight from scipy.special.

`scipy.stats.t.sf/ppf` compute exactly `special.stdtr(df, -t)` / `special.stdtrit(df, q)` (same bytes)
after ~0.1 ms of argument handling per call; a claim test makes dozens of calls and the
calibration stage hundreds of thousands, so the suite calls the special functions directly.
"""

from __future__ import annotations

from scipy import special


def sf(t, df):
    """P(T > t), T ~ t(df); elementwise on arrays."""
    return special.stdtr(df, -t)


def cdf(t, df):
    """P(T <= t)."""
    return special.stdtr(df, t)


def ppf(q, df):
    """The q quantile (0 < q < 1)."""
    return special.stdtrit(df, q)
