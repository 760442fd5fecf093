"""Multiplicity across claims, reported beside each verdict and never used to decide it.

Holm within a paper's claims (family-wise error of what one paper's trial concludes) and
Benjamini-Hochberg across the suite (false-discovery rate of the whole table). A verdict is decided
at its claim's own alpha: adding an unrelated claim must never change it.
"""

from __future__ import annotations

import math

import numpy as np


def _holm(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


def _bh(p: np.ndarray) -> np.ndarray:
    m = len(p)
    order = np.argsort(p, kind="stable")[::-1]
    stepped = np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1))
    out = np.empty(m)
    out[order] = np.minimum(stepped, 1.0)
    return out


# statsmodels' multipletests is the reference (a test checks agreement); it calls gc.collect()
# on every call, which costs ~0.3 s in a large process and dominates a report of many claims.
_METHODS = {"holm": _holm, "fdr_bh": _bh}


def _adjust(pvalues: list[float], method: str) -> list[float]:
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = _METHODS[method](p[ok])
    return [float(v) if not math.isnan(v) else math.nan for v in out]


def reference(pvalues: list[float], method: str) -> list[float]:
    """statsmodels' adjustment of the non-NaN values (for tests)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        from statsmodels.stats.multitest import multipletests

        out[ok] = multipletests(p[ok], method=method)[1]
    return [float(v) for v in out]


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values; NaN entries stay NaN and do not count as tests."""
    return _adjust(pvalues, "holm")


def bh(pvalues: list[float]) -> list[float]:
    """Benjamini-Hochberg q-values; NaN entries stay NaN and do not count as tests."""
    return _adjust(pvalues, "fdr_bh")


def holm_within(groups: dict[str, str], pvalues: dict[str, float]) -> dict[str, float]:
    """Holm within each group (e.g. a paper key): {id: adjusted p}."""
    out: dict[str, float] = {}
    for g in sorted(set(groups.values())):
        ids = sorted(i for i in pvalues if groups[i] == g)
        out.update(zip(ids, holm([pvalues[i] for i in ids])))
    return out
