"""IoU and the streaming statistics used by GAN dissection."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from benchmark.probes import streaming
from benchmark.probes.streaming import RunningIoU, RunningQuantile, confusion_iou, iou

masks = st.integers(1, 6).flatmap(lambda n: st.tuples(arrays(bool, (n, n)), arrays(bool, (n, n))))


@settings(max_examples=100, deadline=None)
@given(masks)
def test_iou_bounds_and_symmetry(pair):
    a, b = pair
    v = iou(a, b)
    if not (a | b).any():
        assert math.isnan(v)
    else:
        assert 0.0 <= v <= 1.0
        assert v == iou(b, a)
        assert (v == 1.0) == np.array_equal(a, b)


def test_iou_exact_small_cases():
    a = np.array([[1, 1], [0, 0]], bool)
    b = np.array([[1, 0], [1, 0]], bool)
    assert iou(a, b) == 1 / 3
    assert iou(a, a) == 1.0
    assert iou(a, ~a) == 0.0
    assert math.isnan(iou(np.zeros((2, 2), bool), np.zeros((2, 2), bool)))


@settings(max_examples=40, deadline=None)
@given(arrays(bool, (3, 2, 4, 4)), arrays(np.int8, (3, 4, 4), elements=st.integers(0, 2)))
def test_running_iou_matches_direct_iou_and_is_batch_invariant(units, labels):
    whole = RunningIoU(2, 3)
    whole.add(units, labels)
    parts = RunningIoU(2, 3)
    parts.add(units[:1], labels[:1])
    parts.add(units[1:], labels[1:])
    np.testing.assert_array_equal(whole.iou(), parts.iou())
    for u in range(2):
        for k in range(3):
            direct = iou(units[:, u], labels == k)
            got = whole.iou()[u, k]
            assert (math.isnan(direct) and math.isnan(got)) or direct == got


def test_running_iou_state_roundtrip():
    r = RunningIoU(1, 2)
    r.add(np.ones((1, 1, 2, 2), bool), np.array([[[0, 1], [1, 1]]]))
    s = RunningIoU(1, 2)
    s.load(r.state())
    np.testing.assert_array_equal(s.iou(), [[0.25, 0.75]])


def test_running_quantile_exact_when_all_kept():
    rng = np.random.default_rng(0)
    v = rng.standard_normal((500, 3))
    q = RunningQuantile(3, per_batch=1000, rng=rng)
    q.add(v[:200])
    q.add(v[200:])
    np.testing.assert_allclose(q.quantile(0.99), np.quantile(v, 0.99, axis=0))
    r = RunningQuantile(3, per_batch=1000, rng=rng)
    r.load(q.state())
    np.testing.assert_allclose(r.quantile(0.5), q.quantile(0.5))


def test_confusion_iou_per_class():
    true = np.array([0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1])
    got = confusion_iou(pred, true, 3)
    np.testing.assert_allclose(got[:2], [0.5, 2 / 3])
    assert math.isnan(got[2])



@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 6), st.integers(2, 7), st.floats(0.0, 0.3),
       st.integers(0, 2**32 - 1))
def test_sparse_and_dense_counting_give_the_counts_of_their_definition(n, units, side, k, density, seed):
    """RunningIoU counts sparse masks from their on-pixels and dense ones by a product: both give
    the counts by definition, for integer labels (those outside [0, K) count nowhere) and for
    multi-label masks, so the path never changes a table."""
    rng = np.random.default_rng(seed)
    masks = rng.random((n, units, side, side)) < density
    labels = rng.integers(-1, k + 1, (n, side, side))
    multi = rng.random((n, k, side, side)) < 0.3
    for concepts, of in ((labels, lambda c: labels == c), (multi, lambda c: multi[:, c])):
        want = np.array([[np.sum(masks[:, u] & of(c)) for c in range(k)] for u in range(units)])
        for share in (-1.0, 1.0):  # every batch dense, every batch sparse
            with mock.patch.object(streaming, "SPARSE_SHARE", share):
                r = RunningIoU(units, k)
                r.add(masks, concepts)
                r.add(masks[::-1], concepts[::-1])
            assert np.array_equal(r.inter, 2 * want), (concepts.ndim, share)
            assert np.array_equal(r.area_u, 2 * masks.sum(axis=(0, 2, 3)))
            assert np.array_equal(r.area_c, 2 * np.array([np.sum(of(c)) for c in range(k)]))
