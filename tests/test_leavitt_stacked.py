"""Stacked training (many same-shape conv nets as one grouped model) follows each network's own
training: same initialization and data order as `train_network`, the same weights up to float
rounding, the batched selectivity equal to the per-network one; and the sweep's seed offset."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.config import SelectivitySweep
from benchmark.data.splits import Split
from benchmark.families.leavitt.regularizer import SelectivityRegularizer
from benchmark.experiments.stacked import Member, stacked_selectivity, train_stacked
from benchmark.experiments.train import TrainConfig, train_network
from benchmark.measures.selectivity import selectivity_index
from benchmark.families.leavitt import sweep as train_sweep


def _split(shape, n=96, classes=4):
    rng = np.random.default_rng(1)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    x.reshape(n, -1)[:, :classes] += 2 * np.eye(classes, dtype=np.float32)[y]
    return Split(x, y.astype(np.int64), x[:24].copy(), y[:24].astype(np.int64), classes)


@pytest.mark.parametrize("arch, shape, hidden", [("conv1d", (12,), [3, 4]), ("conv2d", (4, 4), [2, 3])])
def test_stacked_training_matches_one_network_at_a_time(arch, shape, hidden):
    split = _split(shape)
    members = [Member(5, -1.0), Member(5, 0.0), Member(6, 1.0)]
    stacked = train_stacked(arch, hidden, split, members, epochs=2, lr=0.01, batch_size=16)
    cfg = TrainConfig(arch=arch, hidden=tuple(hidden), epochs=2, lr=0.01, batch_size=16)
    for (state, metrics), m in zip(stacked, members):
        alone = train_network(cfg, split, m.seed, regularizer=SelectivityRegularizer(m.alpha, split.n_classes))
        assert state.keys() == alone.state.keys()
        for k in state:
            assert torch.allclose(state[k], alone.state[k], atol=1e-4), (m, k)
        assert metrics["test_acc"] == pytest.approx(alone.metrics["test_acc"], abs=1 / 24 + 1e-9)


def test_stacked_selectivity_equals_per_network_selectivity_with_absent_classes():
    torch.manual_seed(0)
    act = torch.rand(20, 3, 5, 4, 4)             # (N, G, C, H, W)
    y = torch.randint(0, 3, (20, 3))
    y[:, 1] = torch.where(y[:, 1] == 2, 0, y[:, 1])  # network 1 sees no class 2 in this batch
    got = stacked_selectivity(act, y, n_classes=4)
    for g in range(3):
        want = selectivity_index(act[:, g], y[:, g], 4).mean()
        assert float(got[g]) == pytest.approx(float(want), rel=1e-5)


def test_seed_offset_shifts_every_seed_of_the_sweep(monkeypatch):
    split = _split((12,))
    monkeypatch.setattr(train_sweep, "load_dataset", lambda name, params: split)
    sweep = SelectivitySweep.model_validate({
        "nets": [{"dataset": "sig", "arch": "conv1d", "hidden": [2], "epochs": 1, "lr": 0.01, "batch_size": 32}],
        "alphas": [-1.0, 0.0], "seeds": [0, 1]})
    base = train_sweep.run_sweep(sweep, {}, workers=1)
    shifted = train_sweep.run_sweep(sweep, {}, workers=1, seed_offset=1000)
    assert sorted({r["seed"] for r in shifted[2]}) == [1000, 1001]
    assert {m["seed"] for m in shifted[1].values()} == {1000, 1001}
    first = next(iter(base[0].values()))["hidden.0.weight"]
    assert not torch.equal(first, next(iter(shifted[0].values()))["hidden.0.weight"])  # other seeds, other nets
    assert train_sweep.replicates.offset({"seed_offset": 7}) == 7


@pytest.mark.parametrize("probe", ["corruption", "attack", "dimensionality"])
def test_stacked_probes_match_one_network_probes(probe):
    from benchmark.config import AttackProbe, CorruptionProbe, DimensionalityProbe
    from benchmark.experiments.stacked import StackedConvNet
    from benchmark.models.factory import build
    from benchmark.families.leavitt import probes as robustness

    split = _split((12,), n=64)
    split = Split(split.x_train, split.y_train, split.x_train[:40].copy(), split.y_train[:40].copy(), split.n_classes)
    cfg = {"corruption": CorruptionProbe(kinds={"sig": ["gaussian_noise", "blur"]}, severities=[1, 2]),
           "attack": AttackProbe(attacks=["fgsm", "pgd"], epsilons={"sig": [0.1, 0.3]}, pgd_steps=3),
           "dimensionality": DimensionalityProbe(epsilon={"sig": 0.2}, pgd_steps=3)}[probe]
    nets, metas = [], []
    for seed in range(3):
        torch.manual_seed(seed)
        nets.append(build("conv1d", 12, split.n_classes, [3, 4], in_shape=(12,)).eval())
        metas.append({"seed": seed, "alpha": float(seed - 1), "dataset": "sig"})
    stacked = robustness.STACKED[probe](StackedConvNet(nets).eval(), metas, split, cfg)
    for net, meta, got in zip(nets, metas, stacked):
        want = robustness.__dict__[{"attack": "attacks"}.get(probe, probe)](net, meta, split, cfg)
        (table,) = want
        assert len(got[table]) == len(want[table])
        for a, b in zip(got[table], want[table]):
            assert a.keys() == b.keys()
            for k in a:
                if isinstance(a[k], float):
                    assert a[k] == pytest.approx(b[k], abs=1e-6), (probe, k)
                else:
                    assert a[k] == b[k], (probe, k)


def test_stacks_of_several_seeds_are_worker_count_free_and_match_single_seed_stacks(monkeypatch):
    split = _split((12,))
    monkeypatch.setattr(train_sweep, "load_dataset", lambda name, params: split)
    base = {"nets": [{"dataset": "sig", "arch": "conv1d", "hidden": [2], "epochs": 1, "lr": 0.01, "batch_size": 32}],
            "alphas": [-1.0, 0.0, 1.0], "seeds": [0, 1, 2]}
    two = SelectivitySweep.model_validate({**base, "stack_seeds": 2})
    one_w, two_w = train_sweep.run_sweep(two, {}, workers=1), train_sweep.run_sweep(two, {}, workers=2)
    single = train_sweep.run_sweep(SelectivitySweep.model_validate(base), {}, workers=1)
    assert list(one_w[0]) == list(two_w[0]) == list(single[0]) and len(one_w[0]) == 9
    for name in one_w[0]:
        for k, v in one_w[0][name].items():
            assert torch.equal(v, two_w[0][name][k])
            assert torch.allclose(v, single[0][name][k], atol=1e-5)
    assert one_w[2] == two_w[2]


def test_probes_run_together_give_the_bytes_each_gives_alone():
    """One stage runs the sweep's probes together (one load, attacks shared per stack): every
    probe's rows must be exactly the rows it gives alone."""
    from benchmark.config import AttackProbe, CorruptionProbe, DimensionalityProbe, LayerSelectivityProbe
    from benchmark.models.factory import build
    from benchmark.families.leavitt import probes as _registered  # noqa: F401
    from benchmark.probes.registry import PROBES
    from benchmark.probes import runner as stage

    split = _split((12,), n=64)
    cfgs = {"layer_selectivity": LayerSelectivityProbe(),
            "corruption": CorruptionProbe(kinds={"sig": ["gaussian_noise"]}, severities=[1]),
            "attack": AttackProbe(attacks=["fgsm", "pgd"], epsilons={"sig": [0.1, 0.3]}, pgd_steps=3),
            "dimensionality": DimensionalityProbe(epsilon={"sig": 0.3}, pgd_steps=3)}
    nets, meta = {}, {}
    for seed in range(3):
        torch.manual_seed(seed)
        name = f"n{seed}"
        nets[name] = build("conv1d", 12, split.n_classes, [3, 4], in_shape=(12,)).state_dict()
        meta[name] = {"seed": seed, "alpha": 0.0, "dataset": "sig", "arch": "conv1d", "hidden": [3, 4], "d_in": 12,
                      "in_shape": [12], "n_classes": split.n_classes}
    def run(which):
        return stage.run_probe(nets, meta, {"sig": split}, [(PROBES[p], cfgs[p]) for p in which], 1)

    together = run(list(cfgs))
    for p in cfgs:
        alone = run([p])
        for a, t in zip(alone, together):
            for table, rows in a.items():
                assert t[table] == rows, (p, table)
