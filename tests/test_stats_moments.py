"""benchmark.stats.moments replicates statsmodels' DescrStatsW / CompareMeans (the claim tests'
fast path), including the degenerate tables a paper-scale fixture gives: constant groups and
one-replicate groups read as nan/inf there, never as an exception."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from benchmark.stats.moments import moments, welch


def _statsmodels(a, b):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cm = CompareMeans(DescrStatsW(np.asarray(a, float)), DescrStatsW(np.asarray(b, float)))
        return float(cm.std_meandiff_separatevar), float(cm.dof_satt())


def _same(x, y):
    return (np.isnan(x) and np.isnan(y)) or x == pytest.approx(y, rel=1e-12, abs=0)


samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=12)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_welch_matches_compare_means(a, b):
    se, df = welch(moments(a), moments(b))
    se_sm, df_sm = _statsmodels(a, b)
    assert _same(se, se_sm) and _same(df, df_sm)


@pytest.mark.parametrize("a, b", [([0.5, 0.5, 0.5], [0.25, 0.25]), ([1.0], [2.0, 3.0]), ([1.0], [2.0])])
def test_degenerate_groups_give_what_statsmodels_gives(a, b):
    se, df = welch(moments(a), moments(b))
    se_sm, df_sm = _statsmodels(a, b)
    assert _same(se, se_sm) and _same(df, df_sm)
