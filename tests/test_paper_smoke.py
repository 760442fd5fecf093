"""The paper-scale smoke overrides (benchmark.paper.smoke) name params that exist, so `.ci/paper-smoke`
shrinks every paper stage; a key params lacks is an error naming it."""

from __future__ import annotations

import copy

import pytest
import yaml

from benchmark.errors import ParamsError
from benchmark.paper.smoke import SMOKE_OVERRIDES, apply
from tests.conftest import REPO


def test_every_override_names_an_existing_param():
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    out = apply(copy.deepcopy(params), SMOKE_OVERRIDES)
    assert out["scale"] == "paper" and out["paper_data"]["root"] == "data-paper-fixture"
    assert out["scene_classifier"]["paper"]["seeds"] == [1, 2]
    assert out["experiments"]["morcos_selectivity"] == params["experiments"]["morcos_selectivity"]  # untouched


def test_missing_key_names_it():
    with pytest.raises(ParamsError, match="feature_vis.paper.steps"):
        apply({"feature_vis": {"paper": {}}}, {"feature_vis.paper.steps": 2}, "p.yaml")
    with pytest.raises(ParamsError, match="feature_vis"):
        apply({}, {"feature_vis.paper.steps": 2}, "p.yaml")
