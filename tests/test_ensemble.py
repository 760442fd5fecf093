"""The many-network trainer: deterministic per network, each network what its seed dictates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.config import load_params
from benchmark.data.registry import load_dataset
from benchmark.experiments.ensemble import Job, groups_of, train_group, train_many
from benchmark.experiments.train import TrainConfig, corrupt_labels, train_network


@pytest.fixture(scope="module")
def split():
    try:
        return load_dataset("mnist1d", load_params())
    except Exception as exc:  # data/ not materialized
        pytest.skip(f"mnist1d unavailable: {exc}")


def _bytes(trained) -> list[bytes]:
    return [b"".join(t.state[k].numpy().tobytes() for k in sorted(t.state)) for t in trained]


CFG = TrainConfig("mlp", (8, 8), epochs=2, lr=3e-3, batch_size=32, train_subset=200)
JOBS = [Job(0, 0.0), Job(1, 0.0), Job(2, 0.5), Job(3, 0.5)]


def test_same_bytes_across_worker_counts_and_runs(split):
    one = train_many(CFG, split, JOBS, group_size=2, workers=1)
    two = train_many(CFG, split, JOBS, group_size=2, workers=2)
    again = train_many(CFG, split, JOBS, group_size=2, workers=2)
    assert _bytes(one) == _bytes(two) == _bytes(again)
    assert [t.metrics for t in one] == [t.metrics for t in two]
    assert len(set(_bytes(one))) == len(JOBS)  # different seeds, different networks


def test_each_network_is_what_its_seed_dictates(split):
    """Same labels, init and data order as the per-network loop: the states agree up to float
    rounding, whatever the group and the position in it."""
    grouped = train_group(CFG, split, [Job(5, 0.3), Job(6, 0.0), Job(7, 0.3)])
    alone = train_group(CFG, split, [Job(7, 0.3)])[0]
    for job, got in zip([Job(5, 0.3), Job(6, 0.0), Job(7, 0.3)], grouped):
        ref = train_network(CFG, split, job.seed, job.label_noise)
        assert np.array_equal(got.train_labels, ref.train_labels)
        assert np.array_equal(got.train_labels,
                              corrupt_labels(split.y_train[:200], job.label_noise, split.n_classes,
                                             np.random.default_rng(job.seed)))
        for k in ref.state:
            torch.testing.assert_close(got.state[k], ref.state[k], atol=1e-5, rtol=1e-4)
    for k in alone.state:
        torch.testing.assert_close(grouped[2].state[k], alone.state[k], atol=1e-5, rtol=1e-4)
    assert not torch.equal(grouped[0].state["hidden.0.weight"], grouped[2].state["hidden.0.weight"])


def test_early_stopping_is_per_network(split):
    """Clean labels fit long before random ones: the fitted network stops (its parameters frozen at
    that epoch, as the per-network loop leaves them) while its group mate trains on."""
    cfg = TrainConfig("mlp", (32,), epochs=40, lr=1e-2, batch_size=32, train_subset=100, fit_threshold=0.9)
    jobs = [Job(0, 0.0), Job(1, 1.0)]
    got = train_group(cfg, split, jobs)
    refs = [train_network(cfg, split, j.seed, j.label_noise) for j in jobs]
    epochs = [g.metrics["epochs"] for g in got]
    assert epochs == [r.metrics["epochs"] for r in refs]
    assert epochs[0] < epochs[1]
    assert got[0].metrics["fit"] == 1.0 and got[0].metrics["train_acc"] >= 0.9
    for g, r in zip(got, refs):
        for k in r.state:
            torch.testing.assert_close(g.state[k], r.state[k], atol=1e-4, rtol=1e-3)


def test_grouping_is_fixed_by_group_size():
    jobs = [Job(s) for s in range(5)]
    assert [len(g) for g in groups_of(jobs, 2)] == [2, 2, 1]
    assert [j for g in groups_of(jobs, 2) for j in g] == jobs
    with pytest.raises(ValueError):
        groups_of(jobs, 0)


def test_conv_nets_train_in_groups(split):
    """The same trainer takes the leavitt conv nets (buffer-free ConvNet)."""
    cfg = TrainConfig("conv1d", (4, 4), epochs=1, lr=3e-3, batch_size=32, train_subset=64)
    got = train_group(cfg, split, [Job(0), Job(1)])
    ref = train_network(cfg, split, 1)
    for k in ref.state:
        torch.testing.assert_close(got[1].state[k], ref.state[k], atol=1e-5, rtol=1e-4)


def test_seed_offset_shifts_every_seed(tiny_project):
    """`seed_offset` is a second draw: the stage trains seed + offset and its tables say so."""
    import pandas as pd
    import yaml

    from benchmark.experiments.store import load_models
    from benchmark.stages import train

    root = tiny_project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["seed_offset"] = 1000
    params["experiments"]["morcos_selectivity"]["embedded"].update(seeds=[0, 1], epochs=1, group_size=2)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    assert train.main(["morcos", "mlp", "morcos_selectivity"]) == 0
    table = pd.read_csv(root / "evidence" / "morcos_selectivity" / "training.csv")
    assert table["seed"].tolist() == [1000, 1001]
    _, meta = load_models(root / "models" / "morcos_selectivity.safetensors")
    assert sorted(m["seed"] for m in meta.values()) == [1000, 1001]
