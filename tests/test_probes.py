"""Probes: selectivity index and ablation, on known cases and as properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from benchmark.claims.registry import load_claim
from benchmark.config import UnitAblationProbe
from benchmark.models.mlp import MLP
from benchmark.probes.ablation import (area_under_curve, cumulative_ablation_curve, single_unit_importance,
                                       single_unit_importance_naive)
from benchmark.families.morcos.probes import unit_ablation
from benchmark.measures.selectivity import selectivity_index
from benchmark.stats.kinds import run_test
from benchmark.stats.result import Verdict
from tests.conftest import REPO
from tests.known_models import class_signal_split, selective_units_decide


def test_unit_firing_for_one_class_has_selectivity_one():
    labels = torch.arange(5).repeat_interleave(4)
    acts = torch.zeros(20, 2)
    acts[labels == 3, 0] = 2.0  # unit 0 fires for class 3 only
    acts[:, 1] = 1.0            # unit 1 fires equally for all classes
    si = selectivity_index(acts, labels, 5)
    assert si[0] == pytest.approx(1.0, abs=1e-6)
    assert si[1] == pytest.approx(0.0, abs=1e-6)


def test_conv_units_are_averaged_over_space():
    labels = torch.tensor([0, 0, 1, 1])
    acts = torch.rand(4, 3, 5, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(selectivity_index(acts, labels, 2), selectivity_index(acts.mean(-1), labels, 2))


activations = arrays(np.float32, (24, 4), elements=st.floats(0, 10, width=32))


@settings(max_examples=80, deadline=None)
@given(activations, st.permutations(list(range(3))), st.floats(0.5, 20))
def test_selectivity_properties(acts, perm, scale):
    labels = torch.arange(3).repeat(8)
    a = torch.from_numpy(acts) + 0.5  # keep means away from 0 so eps is negligible
    si = selectivity_index(a, labels, 3)
    assert torch.all(si >= -1e-6) and torch.all(si <= 1 + 1e-6)
    relabelled = torch.tensor(perm)[labels]
    assert torch.allclose(selectivity_index(a, relabelled, 3), si, atol=1e-5)
    assert torch.allclose(selectivity_index(a * scale, labels, 3), si, atol=1e-5)


def test_selectivity_is_differentiable():
    a = torch.rand(30, 4, requires_grad=True)
    selectivity_index(a, torch.arange(3).repeat(10), 3).mean().backward()
    assert a.grad is not None and torch.isfinite(a.grad).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.integers(2, 24), min_size=1, max_size=3))
def test_fast_ablation_equals_naive(seed, hidden):
    torch.manual_seed(seed)
    model = MLP(6, hidden, 4).eval()
    x, y = torch.randn(64, 6), torch.randint(0, 4, (64,))
    for layer in range(len(hidden)):
        fast = single_unit_importance(model, x, y, layer, chunk=5)
        naive = single_unit_importance_naive(model, x, y, layer)
        assert np.abs(fast - naive).max() <= 1.5 / 64  # identical up to a rare float tie at argmax


def test_zero_outgoing_weight_has_zero_importance():
    model = selective_units_decide(0)
    split = class_signal_split()
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    for layer in (0, 1):
        imp = single_unit_importance(model, x, y, layer)
        assert np.all(imp[10:] == 0.0)
        assert np.all(imp[:10] == pytest.approx(0.1, abs=0.02))  # each selective unit carries one class


def test_ablating_nothing_changes_nothing_and_everything_leaves_the_bias():
    torch.manual_seed(0)
    model = MLP(5, [8, 8], 3).eval()
    x, y = torch.randn(50, 5), torch.randint(0, 3, (50,))
    curves = cumulative_ablation_curve(model, x, y, np.array([0.0, 1.0]), np.random.default_rng(0), 3)
    base = float((model(x).argmax(1) == y).float().mean())
    assert np.all(curves[:, 0] == base)
    const = int(model.out.bias.argmax())
    assert np.all(curves[:, 1] == pytest.approx(float((y == const).float().mean())))


def test_area_under_curve():
    f = np.linspace(0, 1, 11)
    assert area_under_curve(f, np.ones(11)) == pytest.approx(1.0)
    assert area_under_curve(f, 1 - f) == pytest.approx(0.5)


def test_known_answer_model_falsifies_m1():
    """If only the most selective units carry the decision, 'selective units are not more
    important' must come out falsified through the real probe and the real test."""
    split = class_signal_split()
    rows = []
    for seed in range(8):
        model = selective_units_decide(seed)
        meta = {"seed": seed, "label_noise": 0.0}
        rows += unit_ablation(model, meta, split, UnitAblationProbe(split="test"))["unit_ablation"]
    frame = pd.DataFrame(rows)
    path = REPO / "claims" / "morcos2018-selectivity-not-importance.yaml"
    res = run_test(frame, load_claim(path), path, "known.csv")
    assert res.verdict == Verdict.FALSIFIED
    assert res.ci_low > 0.5
