"""Unit zeroing and forcing in the generator, and the estimators of claims B4 and B6."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.models.scene_gan import Generator, force_units, zero_units
from benchmark.families.scene_gan import probes as D


@pytest.fixture(scope="module")
def gen():
    torch.manual_seed(0)
    g = Generator(nz=8, width=4)
    g.eval()
    return g


def test_zeroing_changes_only_the_chosen_units(gen):
    h = gen.features(torch.randn(5, 8), 2) + 0.1  # post-ReLU, made strictly positive
    units = torch.zeros(h.shape[1], dtype=torch.bool)
    units[[1, 3]] = True
    out = zero_units(h, units)
    assert (out[:, [1, 3]] == 0).all()
    keep = [i for i in range(h.shape[1]) if i not in (1, 3)]
    assert torch.equal(out[:, keep], h[:, keep])


def test_per_sample_zeroing(gen):
    h = gen.features(torch.randn(2, 8), 1) + 0.1
    units = torch.zeros(2, h.shape[1], dtype=torch.bool)
    units[0, 0] = True
    out = zero_units(h, units)
    assert (out[0, 0] == 0).all() and torch.equal(out[1], h[1]) and torch.equal(out[0, 1:], h[0, 1:])


def test_forcing_sets_value_only_where_asked(gen):
    h = gen.features(torch.randn(3, 8), 2)
    where = torch.zeros(3, h.shape[2], h.shape[3], dtype=torch.bool)
    where[:, 1:3, 2:4] = True
    units = torch.tensor([0, 2])
    out = force_units(h, units, torch.tensor([5.0, 7.0]), where)
    assert (out[:, 0][where] == 5.0).all() and (out[:, 2][where] == 7.0).all()
    assert torch.equal(out[:, 0][~where], h[:, 0][~where])
    assert torch.equal(out[:, [1, 3]], h[:, [1, 3]])


def test_resume_from_unedited_layer_equals_forward(gen):
    z = torch.randn(4, 8)
    with torch.no_grad():
        assert torch.allclose(gen.resume(gen.features(z, 2), 2), gen(z))


def test_units_scaled_to_width():
    assert D.units_for(512) == 20 and D.units_for(64) == 3 and D.units_for(1) == 1


def test_linearized_ratio_mean_is_ratio_of_totals():
    rng = np.random.default_rng(0)
    den = rng.uniform(0, 1, 50)
    num = den * rng.uniform(0, 1, 50)
    y = D.linearized_ratio(num, den)
    assert y.mean() == pytest.approx(num.sum() / den.sum())


def test_balanced_accuracy_contributions():
    peaks = np.array([0.1, 0.2, 0.9, 0.8, 0.3, 0.95])
    labels = np.array([0, 0, 1, 1, 1, 0], bool)
    ev = D.balanced_accuracy_evidence(peaks, labels, 0.5, 0)
    # TPR 2/3, TNR 2/3
    assert ev.y.mean() == pytest.approx(2 / 3)
    assert D.best_threshold(peaks, labels) in peaks


def test_replicate_mean_strata_is_intersection_union():
    import pandas as pd

    from benchmark.claims.spec import TestSpec
    from benchmark.stats.kinds import KINDS

    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"sample": np.tile(np.arange(n), 2), "contrast": np.repeat(["a", "b"], n),
                          "y": np.concatenate([0.8 + 0.1 * rng.standard_normal(n), 0.0 + 0.1 * rng.standard_normal(n)])})
    spec = TestSpec(kind="replicate_mean", form="directional", direction="greater", alpha=0.05, power=0.8, sesoi=0.2,
                    params={"y": "y", "replicate": "sample", "strata": "contrast"})
    res = KINDS["replicate_mean"].run(frame, spec)
    assert res.verdict.value == "falsified"  # stratum b is far below the smallest effect of interest
    assert len(res.strata) == 2


