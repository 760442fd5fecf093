"""The procedural scenes: masks agree with pixels, determinism, every concept occurs."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data import scenes as S


@pytest.fixture(scope="module")
def batch():
    return S.generate(200, np.random.default_rng(3))


def test_pixels_lie_in_their_concepts_colour_box(batch):
    lo = np.array([S.BOXES[c][0] for c in S.CONCEPTS])[batch.masks]
    hi = np.array([S.BOXES[c][1] for c in S.CONCEPTS])[batch.masks]
    assert ((batch.images >= lo) & (batch.images <= hi)).all()


def test_mask_recovers_from_pixels_where_boxes_do_not_overlap(batch):
    """A pixel whose colour fits exactly one box must carry that box's label."""
    lo = np.array([S.BOXES[c][0] for c in S.CONCEPTS])
    hi = np.array([S.BOXES[c][1] for c in S.CONCEPTS])
    px = batch.images.reshape(-1, 1, 3)
    fits = ((px >= lo) & (px <= hi)).all(-1)
    unique = fits.sum(1) == 1
    assert unique.mean() > 0.5
    assert (fits.argmax(1)[unique] == batch.masks.ravel()[unique]).all()


def test_deterministic_from_the_generator():
    a, b = S.generate(20, np.random.default_rng(11)), S.generate(20, np.random.default_rng(11))
    c = S.generate(20, np.random.default_rng(12))
    for f in ("images", "masks", "occluded", "classes"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.images, c.images)


def test_every_concept_and_class_appears_and_trees_hide_buildings(batch):
    present = np.bincount(batch.masks.ravel(), minlength=len(S.CONCEPTS))
    assert (present > 0).all(), dict(zip(S.CONCEPTS, present))
    assert set(np.unique(batch.classes)) == set(range(len(S.CLASSES)))
    assert batch.occluded.any()
    # hidden building parts are drawn over by trees
    assert (batch.masks[batch.occluded] == S.CID["tree"]).all()


def test_buildings_carry_windows_and_doors(batch):
    has = lambda c: (batch.masks == S.CID[c]).any((1, 2))  # noqa: E731
    village = batch.classes == S.CLASSES.index("village")
    assert has("building")[village].all()
    assert has("window")[village].mean() > 0.8 and has("door")[village].mean() > 0.8
    assert not has("window")[~village].any()


def test_write_and_load_roundtrip(tmp_path):
    S.write(tmp_path / "scenes", num_train=5, num_test=3, seed=1)
    first = (tmp_path / "scenes" / "train_images.npy").read_bytes()
    S.write(tmp_path / "scenes", num_train=5, num_test=3, seed=1)
    assert (tmp_path / "scenes" / "train_images.npy").read_bytes() == first
    test = S.load(tmp_path / "scenes", "test")
    assert test.images.shape == (3, 32, 32, 3) and test.masks.shape == (3, 32, 32)


def test_missing_dataset_names_directory(tmp_path):
    from benchmark.errors import DataError

    with pytest.raises(DataError, match="materialize"):
        S.load(tmp_path / "nowhere", "train")
