"""morcos2018 M3/M4 on paper-scale fixture files: what tiny data sets meet that the embedded ones never do."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from benchmark.errors import ParamsError
from benchmark.families.morcos.reliance import ensemble_standardized


def _rel(test_acc):
    n = len(test_acc)
    return pd.DataFrame({"seed": range(n), "arch": "mlp", "lr": 0.001, "area": np.linspace(0.1, 0.3, n),
                         "area_norm": np.linspace(0.2, 0.6, n), "train_acc": 0.5, "test_acc": test_acc,
                         "test_loss": np.linspace(2.0, 2.3, n)})


def test_an_outcome_without_spread_gets_zero_z_not_nan():
    f = ensemble_standardized(_rel([0.05, 0.05, 0.05]))
    acc = f[f.outcome == "test_acc"]
    assert np.isfinite(f.outcome_z).all() and (acc.outcome_z == 0).all()
    loss = f[f.outcome == "test_loss"].outcome_z.to_numpy()
    assert loss == pytest.approx([1.0, 0.0, -1.0])  # sign flipped: lower loss = better


def test_train_subset_beyond_the_data_is_a_params_error(monkeypatch):
    from benchmark.families.morcos import reliance_training as morcos_train

    monkeypatch.setattr(morcos_train, "load_dataset", lambda name, params: types.SimpleNamespace(y_train=np.zeros(60)))
    params = {"scale": "paper", "seed_offset": 0, "experiments": {"morcos_course": {"paper": {
        "dataset": "mnist", "hidden": [8], "lrs": [0.001], "seeds": [0, 1], "train_subset": 1000, "epochs": 1,
        "batch_size": 8, "group_size": 2}}}}
    with pytest.raises(ParamsError, match="experiments.morcos_course.train_subset.*1000 exceeds the 60"):
        morcos_train.plan(params, "morcos_course")
