"""morcos2018 M3/M4: model variants, checkpoints, and the per-network statistics of the claims."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.experiments.ensemble import Job, train_group
from benchmark.families.morcos.experiments import RelianceExperiment
from benchmark.experiments.train import TrainConfig
from benchmark.models.factory import build
from benchmark.models.morcos_variants import MLPVariant, freeze_batch_norm
from benchmark.probes.ablation import cumulative_ablation_curve
from benchmark.families.morcos.reliance import course_summary, ensemble_standardized, window_slope
from tests.test_ensemble import split  # noqa: F401  (fixture)


def test_build_names_the_variants():
    assert build("mlp+bn", 5, 3, [4, 4]).norms is not None
    assert build("mlp+dropout=0.3", 5, 3, [4]).dropout == 0.3
    with pytest.raises(ValueError):
        build("mlp+dropout=1.5", 5, 3, [4])
    with pytest.raises(ValueError):
        build("mlp+ln", 5, 3, [4])


def test_dropout_is_off_in_eval_and_units_are_post_relu():
    torch.manual_seed(0)
    m = MLPVariant(6, [8, 8], 3, dropout=0.5).eval()
    x = torch.randn(20, 6)
    assert torch.equal(m(x), m(x))
    acts = m.activations(x)
    assert all((a >= 0).all() for a in acts)
    # forward_from the first layer's units equals the full forward pass
    torch.testing.assert_close(m.forward_from(0, acts[0]), m(x))


def test_frozen_batch_norm_does_not_renormalize_an_ablation():
    """With frozen statistics, zeroing units of layer 0 changes layer 1's normalized input by the
    zeroed units' contribution; with batch statistics it would be re-centred."""
    torch.manual_seed(0)
    m = MLPVariant(6, [16, 16], 3, batch_norm=True)
    x = torch.randn(200, 6)
    freeze_batch_norm(m, x)
    mean, var = m.norms[1].frozen
    mask = torch.ones(16)
    mask[:8] = 0
    h0 = m.activations(x)[0] * mask
    z1 = m.hidden[1](h0)
    expected = (z1 - mean) / torch.sqrt(var + m.norms[1].eps) * m.norms[1].weight + m.norms[1].bias
    got = m.norms[1](z1)
    torch.testing.assert_close(got, expected)
    assert not torch.allclose(got.mean(0), m.norms[1].bias, atol=1e-3)  # not re-centred
    # unablated, the frozen statistics are the data's: eval output equals batch-statistics output
    m_batch = MLPVariant(6, [16, 16], 3, batch_norm=True)
    m_batch.load_state_dict(m.state_dict())
    m_batch.eval()
    torch.testing.assert_close(m(x), m_batch(x), atol=1e-5, rtol=1e-4)


def test_cumulative_ablation_works_on_variants():
    torch.manual_seed(0)
    m = MLPVariant(6, [10, 10], 3, batch_norm=True)
    x, y = torch.randn(50, 6), torch.randint(0, 3, (50,))
    freeze_batch_norm(m, x)
    curves = cumulative_ablation_curve(m, x, y, np.array([0.0, 0.5, 1.0]), np.random.default_rng(0), 2)
    assert curves.shape == (2, 3)
    base = float((m(x).argmax(1) == y).float().mean())
    assert curves[0, 0] == pytest.approx(base)


def test_checkpoints_and_variants_train_deterministically(split):  # noqa: F811
    cfg = TrainConfig("mlp+dropout=0.2", (8, 8), epochs=3, lr=3e-3, batch_size=32, train_subset=100)
    a = train_group(cfg, split, [Job(0), Job(1)], checkpoints=[1, 3])
    b = train_group(cfg, split, [Job(0), Job(1)], checkpoints=[1, 3])
    assert sorted(a[0].checkpoints) == [1, 3]
    for k in a[0].state:
        assert torch.equal(a[0].state[k], b[0].state[k])
        assert torch.equal(a[0].checkpoints[3][k], a[0].state[k])  # the last checkpoint is the final state
    assert not torch.equal(a[0].checkpoints[1]["hidden.0.weight"], a[0].state["hidden.0.weight"])
    bn = train_group(TrainConfig("mlp+bn", (8,), epochs=1, lr=3e-3, batch_size=32, train_subset=100), split, [Job(0)])
    assert set(bn[0].state) >= {"norms.0.weight", "norms.0.bias"}


def test_experiment_groups_never_mix_conditions():
    with pytest.raises(ValueError):
        RelianceExperiment(dataset="mnist1d", hidden=[4], lrs=[0.1], seeds=[0, 1, 2], epochs=1, batch_size=4, group_size=2)
    e = RelianceExperiment(dataset="mnist1d", hidden=[4], archs=["mlp", "mlp+bn"], lrs=[0.1], seeds=[0, 1],
                           epochs=6, batch_size=4, group_size=2, checkpoint_every=2)
    assert e.conditions(1000)[0] == ("mlp", 0.1, 1000) and len(e.conditions()) == 4
    assert e.checkpoints() == [2, 4, 6]


def test_window_slope():
    f = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    acc = np.array([1.0, 1.0, 1.0, 0.8, 0.6])
    assert window_slope(f, acc, 0.0, 0.2) == pytest.approx(0.0, abs=1e-12)
    assert window_slope(f, acc, 0.2, 0.4) == pytest.approx(-2.0)
    with pytest.raises(ValueError):
        window_slope(f, acc, 0.05, 0.08)


def test_course_summary_finds_a_turn_at_the_test_loss_minimum():
    ep = np.arange(2, 81, 2)
    rows = []
    for seed, turn in ((0, True), (1, False)):
        loss = (ep - 30.0) ** 2 / 400 + 1
        area = np.where(ep <= 30, 0.5, 0.5 - 0.01 * (ep - 30)) if turn else 0.9 - 0.005 * ep
        rows += [{"seed": seed, "arch": "mlp", "lr": 0.001, "epoch": e, "area_cc": a, "test_loss": l}
                 for e, a, l in zip(ep, area, loss)]
    s = course_summary(pd.DataFrame(rows), window=20).set_index(["seed", "window"])
    assert s.loc[(0, "before"), "slope"] == pytest.approx(0.0, abs=1e-9)
    assert s.loc[(0, "after"), "slope"] == pytest.approx(-0.2)
    assert s.loc[(1, "after"), "slope"] == pytest.approx(s.loc[(1, "before"), "slope"])  # no turn
    assert s.loc[(0, "before"), "t_min_loss"] == 30 and s.loc[(0, "before"), "test_loss_rise"] > 0


def test_standardized_slope_is_the_correlation():
    rng = np.random.default_rng(0)
    a = rng.normal(size=40)
    rel = pd.DataFrame({"seed": range(40), "arch": "mlp", "lr": 0.001, "area": a, "area_norm": a,
                        "train_acc": 1.0, "test_acc": 0.5 * a + rng.normal(size=40),
                        "test_loss": -0.2 * a + rng.normal(size=40)})
    long = ensemble_standardized(rel)
    for outcome, sign in (("test_acc", 1), ("test_loss", -1)):
        g = long[long["outcome"] == outcome]
        slope = np.polyfit(g["area_z"], g["outcome_z"], 1)[0]
        assert slope == pytest.approx(sign * np.corrcoef(rel["area_norm"], rel[outcome])[0, 1])
    assert long["network"].nunique() == 40


def test_course_summary_from_window_checkpoints_equals_all_checkpoints():
    """Ablating only the checkpoints near the test-loss minimum (checkpoint_window) gives the
    statistic of all checkpoints; a missing checkpoint inside a window is an error."""
    from benchmark.families.morcos.reliance import window_epochs

    rng = np.random.default_rng(1)
    ep = np.arange(2, 81, 2)
    rows = []
    for seed in range(3):
        loss = (ep - 14.0 - 2 * seed) ** 2 / 300 + 1 + rng.normal(0, 0.01, ep.size)
        area = 0.8 - 0.004 * ep + rng.normal(0, 0.02, ep.size)
        rows += [{"seed": seed, "arch": "mlp", "lr": 0.001, "epoch": int(e), "area_cc": a, "test_loss": l}
                 for e, a, l in zip(ep, area, loss)]
    course = pd.DataFrame(rows)
    losses = course[["seed", "arch", "lr", "epoch", "test_loss"]]
    kept = pd.concat([g[g["epoch"].isin(window_epochs(g["epoch"].to_numpy(), g["test_loss"].to_numpy(), 20))]
                      for _, g in course.groupby("seed")])
    assert len(kept) < len(course)
    full = course_summary(course, 20)
    part = course_summary(kept, 20, losses)
    cols = ["seed", "window", "slope", "checkpoints", "t_min_loss", "test_loss_rise", "last_epoch"]
    pd.testing.assert_frame_equal(full[cols], part[cols])
    with pytest.raises(ValueError, match="no ablation area"):
        course_summary(kept[kept["epoch"] != int(full["t_min_loss"].iloc[0])], 20, losses)
