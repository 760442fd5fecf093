"""The selectivity sweep: deterministic, independent of the worker count; models and data it uses."""

from __future__ import annotations

import numpy as np
import torch

from benchmark.config import SelectivitySweep
from benchmark.data.digits_gen import generate as digits
from benchmark.data.splits import Split
from benchmark.models.factory import build
from benchmark.families.leavitt import sweep as train_sweep


def _tiny_split(shape):
    rng = np.random.default_rng(0)
    n = 48
    y = np.arange(n) % 3
    x = rng.random((n, *shape)).astype(np.float32)
    x.reshape(n, -1)[:, :3] += y[:, None]
    return Split(x, y.astype(np.int64), x[:12].copy(), y[:12].astype(np.int64), 3)


def test_tiny_sweep_is_deterministic_and_worker_count_free(monkeypatch):
    splits = {"sig": _tiny_split((10,)), "img": _tiny_split((4, 4))}
    monkeypatch.setattr(train_sweep, "load_dataset", lambda name, params: splits[name])
    sweep = SelectivitySweep.model_validate({
        "nets": [{"dataset": "sig", "arch": "conv1d", "hidden": [3], "epochs": 1, "lr": 0.01, "batch_size": 16},
                 {"dataset": "img", "arch": "conv2d", "hidden": [2], "epochs": 1, "lr": 0.01, "batch_size": 16}],
        "alphas": [-1.0, 1.0], "seeds": [0, 1]})
    one = train_sweep.run_sweep(sweep, {}, workers=1)
    two = train_sweep.run_sweep(sweep, {}, workers=2)
    assert list(one[0]) == list(two[0]) and len(one[0]) == 8
    for name in one[0]:
        for k, v in one[0][name].items():
            assert torch.equal(v, two[0][name][k]), (name, k)
    assert one[1] == two[1] and one[2] == two[2]
    assert {r["alpha"] for r in one[2]} == {-1.0, 1.0}


def test_convnets_expose_post_relu_units_per_layer_and_resume_from_them():
    for arch, shape in (("conv1d", (40,)), ("conv2d", (8, 8))):
        torch.manual_seed(0)
        model = build(arch, int(np.prod(shape)), 10, [4, 6], in_shape=shape)
        x = torch.randn(5, *shape)
        with torch.no_grad():
            acts = model.activations(x)
        assert [a.shape[1] for a in acts] == [4, 6] and all(float(a.min()) >= 0 for a in acts)
        assert acts[0].shape[2:] == shape  # the first layer keeps the resolution
        with torch.no_grad():
            assert torch.allclose(model.forward_from(0, acts[0]), model(x), atol=1e-6)


def test_digits_is_a_deterministic_image_dataset_in_unit_range():
    a, b = digits(), digits()
    assert a.x_train.shape[1:] == (8, 8) and a.n_classes == 10
    assert 0 <= a.x_train.min() and a.x_train.max() <= 1
    assert np.array_equal(a.x_test, b.x_test) and len(a.y_train) + len(a.y_test) == 1797


def test_unknown_architecture_is_a_params_error(monkeypatch):
    import pytest

    from benchmark.errors import ParamsError

    monkeypatch.setattr(train_sweep, "load_dataset", lambda name, params: _tiny_split((10,)))
    sweep = SelectivitySweep.model_validate({
        "nets": [{"dataset": "sig", "arch": "resnet20", "hidden": [3], "epochs": 1, "lr": 0.01, "batch_size": 16}],
        "alphas": [-1.0, 1.0], "seeds": [0]})
    with pytest.raises(ParamsError, match="nets.0.arch"):
        train_sweep.run_sweep(sweep, {"_path": "params.yaml"}, workers=1)
