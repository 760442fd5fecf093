"""The forest plot draws every test form the claim schema allows (directional, bound, equivalence)."""

from __future__ import annotations

import typing

import pytest

from benchmark.claims.spec import TestSpec
from benchmark.reporting.forest import forest_png, standardized_row

FORMS = typing.get_args(TestSpec.model_fields["form"].annotation)
TESTS = {"directional": {"form": "directional", "direction": "greater", "null": 0.0, "sesoi": 0.2},
         "bound": {"form": "bound", "direction": "less", "null": 0.0, "bound": 0.1},
         "equivalence": {"form": "equivalence", "null": 0.0, "margin": 0.2}}


def _entry(form: str, i: int) -> dict:
    return {"claim_id": f"x.{form}", "version": 1, "verdict": "reproduced", "n": 8, "estimate": 0.05 * i,
            "ci_low": 0.05 * i - 0.1, "ci_high": 0.05 * i + 0.1, "claim": {"test": TESTS[form]}}


def test_every_form_has_a_forest_row(tmp_path):
    assert set(FORMS) == set(TESTS), "a new test form needs its forest-plot row and legend"
    entries = [_entry(f, i) for i, f in enumerate(FORMS)]
    out = forest_png(entries, tmp_path / "forest.png", "ic-test")
    assert out.is_file() and out.stat().st_size > 1000


@pytest.mark.parametrize("value, want", [(0.2, 1.0), (-0.2, -1.0), (0.0, 0.0)])
def test_equivalence_maps_the_margin_to_one(value, want):
    row = standardized_row({**_entry("equivalence", 0), "estimate": value})
    assert row["estimate"] == pytest.approx(want)
