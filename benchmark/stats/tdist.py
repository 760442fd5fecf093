"""Student t tail probabilities and quantiles, straight from scipy.special.

`scipy.stats.t.sf/ppf` compute exactly `special.stdtr(df, -t)` / `special.stdtrit(df, q)` (same bytes)
after ~0.1 ms of argument handling per call; a claim test makes dozens of calls and the
calibration stage hundreds of thousands, so the suite calls the special functions directly.
"""

from __future__ import annotations

import numpy as np
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


def nct_sf(t, df, nc):
    """P(T > t), T noncentral t(df, nc): what scipy.stats.nct.sf computes (the same ufunc, clipped to
    [0, 1]), without importing scipy.stats."""
    try:
        from scipy.special import _ufuncs
        ufunc = _ufuncs._nct_sf
    except (ImportError, AttributeError):  # another scipy: its public route
        from scipy import stats

        return stats.nct.sf(t, df, nc)
    with np.errstate(over="ignore"):
        return np.clip(ufunc(t, df, nc), 0, 1)
