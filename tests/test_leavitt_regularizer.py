"""The class-selectivity regularizer (leavitt2021) and the selectivity index it differentiates."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from benchmark.data.splits import Split
from benchmark.families.leavitt.regularizer import SelectivityRegularizer, forward_with_activations, mean_selectivity
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.models.factory import build
from benchmark.measures.selectivity import selectivity_index


def _toy(seed: int = 0, n: int = 60, classes: int = 3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 12, generator=g)
    y = torch.arange(n) % classes
    x[:, 0, :4] += y.unsqueeze(1).float()  # some class signal
    return x, y


def _si_after_step(alpha: float) -> tuple[float, float]:
    torch.manual_seed(0)
    model = build("conv1d", 12, 3, [4, 4], in_shape=(12,))
    x, y = _toy()
    reg = SelectivityRegularizer(alpha, 3)
    with torch.no_grad():
        before = float(mean_selectivity(model.activations(x), y, 3))
    _, penalty = reg(model, x, y)
    penalty.backward()
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:  # the read-out layer does not feed the penalty
                p -= 1e-3 * p.grad  # a small step: the first-order change has the gradient's sign
        after = float(mean_selectivity(model.activations(x), y, 3))
    return before, after


def test_negative_alpha_gradient_lowers_selectivity():
    before, after = _si_after_step(-1.0)
    assert after < before


def test_positive_alpha_gradient_raises_selectivity():
    before, after = _si_after_step(1.0)
    assert after > before


def test_penalty_is_minus_alpha_times_mean_layer_selectivity_and_logits_match_forward():
    torch.manual_seed(1)
    model = build("conv2d", 36, 3, [3, 5], in_shape=(6, 6))
    x, y = torch.rand(30, 6, 6), torch.arange(30) % 3
    logits, penalty = SelectivityRegularizer(2.0, 3)(model, x, y)
    acts = model.activations(x)
    per_layer = [float(selectivity_index(a, y, 3).mean().detach()) for a in acts]  # conv units averaged over space
    assert np.isclose(float(penalty.detach()), -2.0 * np.mean(per_layer), rtol=1e-5)
    assert torch.allclose(logits, model(x))
    assert torch.allclose(forward_with_activations(model, x)[0], model(x))


def _split(seed=0, n=120, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = (rng.standard_normal((n, 10)) + y[:, None]).astype(np.float32)
    return Split(x, y.astype(np.int64), x[:30].copy(), y[:30].astype(np.int64), classes)


def test_alpha_zero_regularizer_trains_like_no_regularizer():
    cfg = TrainConfig(arch="mlp", hidden=(8,), epochs=2, lr=0.01, batch_size=16)
    plain = train_network(cfg, _split(), seed=3)
    zero = train_network(cfg, _split(), seed=3, regularizer=SelectivityRegularizer(0.0, 3))
    for k in plain.state:
        assert torch.allclose(plain.state[k], zero.state[k], atol=1e-6), k
    assert plain.metrics["test_acc"] == zero.metrics["test_acc"]


def test_regularized_training_is_deterministic():
    cfg = TrainConfig(arch="conv1d", hidden=(3,), epochs=1, lr=0.01, batch_size=16)
    a = train_network(cfg, _split(), seed=5, regularizer=SelectivityRegularizer(-1.0, 3))
    b = train_network(cfg, _split(), seed=5, regularizer=SelectivityRegularizer(-1.0, 3))
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)


acts_strategy = arrays(np.float64, st.tuples(st.integers(6, 30), st.integers(1, 5)),
                       elements=st.floats(0, 100, allow_nan=False, allow_infinity=False))


@settings(max_examples=60, deadline=None)
@given(acts=acts_strategy, seed=st.integers(0, 2**16))
def test_selectivity_in_unit_interval_for_nonnegative_activations(acts, seed):
    y = torch.from_numpy(np.random.default_rng(seed).permutation(np.arange(len(acts)) % 3))
    si = selectivity_index(torch.from_numpy(acts), y, 3)
    assert torch.all(si >= -1e-9) and torch.all(si <= 1)  # up to rounding when all class means are equal


@settings(max_examples=60, deadline=None)
@given(acts=acts_strategy, perm=st.permutations([0, 1, 2]), scale=st.floats(0.5, 100))
def test_selectivity_invariant_to_class_relabelling_and_positive_scaling(acts, perm, scale):
    x = torch.from_numpy(acts) + 1.0  # away from 0 so eps is negligible against the scale
    y = torch.arange(len(acts)) % 3
    base = selectivity_index(x, y, 3)
    relabelled = selectivity_index(x, torch.tensor(perm)[y], 3)
    scaled = selectivity_index(x * scale, y, 3)
    assert torch.allclose(base, relabelled, atol=1e-9)
    assert torch.allclose(base, scaled, atol=1e-5)  # exact but for eps = 1e-6 in the denominator
