"""The sweep's extension (leavitt2021 L2 v3): the same trainer at fewer alphas and per-dataset
seeds; worker-count free bytes, the shared sweep's networks for a shared seed, each row's
selectivity equal to the layer_selectivity probe's, and params that overlap the sweep refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.config import LayerSelectivityProbe, SelectivitySweep, SweepExtension
from benchmark.data.splits import Split
from benchmark.errors import ParamsError
from benchmark.models.factory import build
from benchmark.families.leavitt.probes import layer_selectivity
from benchmark.families.leavitt import extension as ext_stage, sweep as train_sweep


def _split(shape, n=96, classes=4):
    rng = np.random.default_rng(2)
    y = np.arange(n) % classes
    x = rng.normal(size=(n, *shape)).astype(np.float32)
    x.reshape(n, -1)[:, :classes] += 2 * np.eye(classes, dtype=np.float32)[y]
    return Split(x, y.astype(np.int64), x[:24].copy(), y[:24].astype(np.int64), classes)


SWEEP = {"nets": [{"dataset": "a", "arch": "conv1d", "hidden": [2], "epochs": 1, "lr": 0.01, "batch_size": 32},
                  {"dataset": "b", "arch": "conv2d", "hidden": [2], "epochs": 1, "lr": 0.01, "batch_size": 32}],
         "alphas": [-1.0, 0.0, 1.0], "seeds": [0, 1], "stack_seeds": 2}


@pytest.fixture
def splits(monkeypatch):
    data = {"a": _split((12,)), "b": _split((4, 4))}
    monkeypatch.setattr(ext_stage, "load_dataset", lambda name, params: data[name])
    monkeypatch.setattr(train_sweep, "load_dataset", lambda name, params: data[name])
    return data


def test_extension_is_worker_count_free_and_its_rows_carry_the_probes_selectivity(splits):
    sweep = SelectivitySweep.model_validate(SWEEP)
    ext = SweepExtension(alphas=[0.0, 1.0], seeds={"a": [5, 6, 7], "b": [5]}, stack_seeds=2)
    one = ext_stage.run_extension(sweep, ext, {}, workers=1)
    two = ext_stage.run_extension(sweep, ext, {}, workers=2)
    assert list(one[0]) == list(two[0]) and len(one[0]) == 2 * 3 + 2 * 1
    for name in one[0]:
        for k, v in one[0][name].items():
            assert torch.equal(v, two[0][name][k])
    assert one[2] == two[2]
    assert [(r["dataset"], r["alpha"], r["seed"]) for r in one[2]][:3] == [("a", 0.0, 5), ("a", 0.0, 6), ("a", 0.0, 7)]
    for name, row in zip(one[0], one[2]):
        meta = one[1][name]
        model = build(meta["arch"], meta["d_in"], meta["n_classes"], meta["hidden"], in_shape=meta["in_shape"])
        model.load_state_dict(one[0][name])
        probe = layer_selectivity(model.eval(), meta, splits[meta["dataset"]], LayerSelectivityProbe())
        assert row["network_selectivity"] == probe["layer_selectivity"][0]["network_selectivity"]


def test_the_extension_keeps_each_networks_layer_rows(splits):
    """The per-layer manipulation check reads these rows: the probe's, one per layer, in network order."""
    sweep = SelectivitySweep.model_validate(SWEEP)
    ext = SweepExtension(alphas=[0.0, 1.0], seeds={"a": [5], "b": [5]}, stack_seeds=1)
    layers: list[dict] = []
    nets, meta, rows = ext_stage.run_extension(sweep, ext, {}, workers=1, layers=layers)
    assert [(r["dataset"], r["alpha"], r["layer"]) for r in layers] == [("a", 0.0, 0), ("a", 1.0, 0), ("b", 0.0, 0),
                                                                         ("b", 1.0, 0)]
    assert all(0 <= r["selectivity_floor"] <= 1 and r["stratum"] == f"{r['dataset']}/layer0" for r in layers)
    assert [r["network_selectivity"] for r in layers] == [r["network_selectivity"] for r in rows]


def test_probe_sampling_seeds_move_with_the_draw():
    from benchmark.config import CorruptionProbe, LayerSelectivityProbe
    from benchmark.probes.runner import draw_config

    cfg = CorruptionProbe(kinds={"a": ["blur"]}, severities=[1], seed=3)
    assert draw_config({"seed_offset": 0}, cfg) == cfg  # offset 0: today's bytes
    assert draw_config({"seed_offset": 1000}, cfg).seed == 1003
    assert draw_config({"seed_offset": 1000}, LayerSelectivityProbe()) == LayerSelectivityProbe()  # no seed: unchanged


def test_seed_offset_shifts_every_extension_seed(splits):
    sweep = SelectivitySweep.model_validate(SWEEP)
    ext = SweepExtension(alphas=[0.0, 1.0], seeds={"a": [5, 6]}, stack_seeds=1)
    rows = ext_stage.run_extension(sweep, ext, {}, workers=1, seed_offset=1000)[2]
    assert sorted({r["seed"] for r in rows}) == [1005, 1006]


def test_a_network_of_the_extension_is_the_sweeps_network_for_that_seed(splits):
    """Same seed, alpha and stack grouping: the same bytes as in the shared sweep (same trainer)."""
    sweep = SelectivitySweep.model_validate({**SWEEP, "nets": SWEEP["nets"][:1], "seeds": [5, 6],
                                             "alphas": [0.0, 1.0]})
    shared = train_sweep.run_sweep(sweep, {}, workers=1)[0]
    ext = SweepExtension(alphas=[0.0, 1.0], seeds={"a": [5, 6]}, stack_seeds=2)
    extra = ext_stage.run_extension(sweep.model_copy(update={"seeds": [0]}), ext, {}, workers=1)[0]
    assert list(extra) == list(shared)
    for name in extra:
        for k, v in extra[name].items():
            assert torch.equal(v, shared[name][k])


@pytest.mark.parametrize("seeds, alphas, field", [({"a": [1, 9]}, [0.0, 1.0], "f.seeds.a"),
                                                   ({"c": [9]}, [0.0, 1.0], "f.seeds.c"),
                                                   ({"a": [9]}, [0.0, 3.0], "f.alphas")])
def test_extension_params_that_overlap_or_stray_from_the_sweep_are_refused(seeds, alphas, field):
    sweep = SelectivitySweep.model_validate(SWEEP)
    with pytest.raises(ParamsError, match=field.replace(".", r"\.")):
        ext_stage.check_extension(sweep, SweepExtension(alphas=alphas, seeds=seeds), "params.yaml", "f")
