"""Suite-wide multiplicity correction (Holm), and the final verdicts decided on adjusted p."""

from __future__ import annotations

import math

import numpy as np
from statsmodels.stats.multitest import multipletests


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values; NaN entries stay NaN and do not count as tests."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return [float(v) if not math.isnan(v) else math.nan for v in out]
