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
    assert out["scene_classifier"]["paper"]["arch"] == "vgg16_narrow"
    assert _embedded(out) == _embedded(params) and _embedded(params)  # every embedded block untouched


def _embedded(node, path=()) -> dict:
    """Every `embedded` block of params, by its path."""
    if not isinstance(node, dict):
        return {}
    found = {path: node["embedded"]} if "embedded" in node else {}
    for key, value in node.items():
        if key != "embedded":
            found.update(_embedded(value, (*path, key)))
    return found


def test_missing_key_names_it():
    with pytest.raises(ParamsError, match="feature_vis.paper.steps"):
        apply({"feature_vis": {"paper": {}}}, {"feature_vis.paper.steps": 2}, "p.yaml")
    with pytest.raises(ParamsError, match="feature_vis"):
        apply({}, {"feature_vis.paper.steps": 2}, "p.yaml")
