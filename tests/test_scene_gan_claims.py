"""Claims B4-B6 on planted per-generator evidence: the generator is the replicate, and a failed
instrument check (no concept units in some generator, a segmenter blind to the concept) makes the
verdict inconclusive, never falsified."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.claims.registry import load_claim
from benchmark.stats.kinds import run_test

CLAIMS = Path(__file__).resolve().parents[1] / "claims"
GENERATORS = [1, 2, 3, 4, 5, 6, 7, 8]


def _removal(effect: float, unit_iou: dict[int, float] | None = None, seg_iou: float = 0.86) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for g in GENERATORS:
        shift = effect + 0.05 * rng.standard_normal()
        for contrast in ("removed", "removed_minus_random"):
            for i in range(20):
                rows.append({"generator": g, "sample": f"g{g}-{i}", "contrast": contrast,
                             "y": shift + 0.2 * rng.standard_normal(), "tree_base": 0.1, "tree_top": 0.02,
                             "tree_random": 0.09, "tree_unit_iou": (unit_iou or {}).get(g, 0.08),
                             "segmenter_tree_iou": seg_iou})
    return pd.DataFrame(rows)


def _insertion(building: float, other: float, unit_iou: dict[int, float] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for g in GENERATORS:
        for i in range(200):
            context = ("building", "sky", "tree", "other")[i % 4]
            rate = building if context == "building" else other
            rows.append({"generator": g, "sample": f"g{g}-{i}", "context": context,
                         "door_added": int(rng.random() < rate), "door_px_before": 0, "door_px_after": 0,
                         "door_unit_iou": (unit_iou or {}).get(g, 0.06), "segmenter_door_iou": 0.7})
    return pd.DataFrame(rows)


def _window(accuracy: float, unit_iou: dict[int, float] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    rows = []
    for g in GENERATORS:
        acc = accuracy + 0.03 * rng.standard_normal()
        for i in range(200):
            label = i % 2
            correct = int(rng.random() < acc)
            rows.append({"generator": g, "sample": f"g{g}-{i}", "peak": 1.0, "label": label,
                         "predicted": label if correct else 1 - label, "correct": correct, "y": float(correct),
                         "window_unit_iou": (unit_iou or {}).get(g, 0.07), "segmenter_window_iou": 0.5})
    return pd.DataFrame(rows)


def _run(name: str, frame: pd.DataFrame):
    path = CLAIMS / f"bau2020-{name}.yaml"
    return run_test(frame, load_claim(path), path, f"<planted {name}>")


def test_generator_is_the_replicate():
    res = _run("tree-units-remove-trees", _removal(0.7))
    assert res.n == len(GENERATORS)
    assert res.verdict.value == "reproduced"


@pytest.mark.parametrize("name, frame", [
    ("tree-units-remove-trees", lambda iou: _removal(0.7, iou)),
    ("door-units-context", lambda iou: _insertion(0.6, 0.05, iou)),
    ("window-unit-classifies", lambda iou: _window(0.8, iou)),
])
def test_claims_hold_with_working_instruments_and_not_without(name, frame):
    assert _run(name, frame(None)).verdict.value == "reproduced"
    # one generator without units for the concept: the instrument failed, not the claim
    res = _run(name, frame({3: 0.03}))
    assert res.verdict.value == "inconclusive"
    assert res.reason_code.value == "precondition_failed"
    assert any(not p.passed for p in res.preconditions)


@pytest.mark.parametrize("name, frame", [
    ("tree-units-remove-trees", lambda iou: _removal(0.0, iou)),
    ("door-units-context", lambda iou: _insertion(0.05, 0.05, iou)),
    ("window-unit-classifies", lambda iou: _window(0.5, iou)),
])
def test_a_contrary_effect_is_falsified_only_when_the_instrument_works(name, frame):
    assert _run(name, frame(None)).verdict.value == "falsified"
    res = _run(name, frame({1: 0.01}))
    assert res.verdict.value == "inconclusive" and res.reason_code.value == "precondition_failed"


def test_a_segmenter_blind_to_trees_makes_b4_inconclusive():
    res = _run("tree-units-remove-trees", _removal(0.7, seg_iou=0.2))
    assert res.verdict.value == "inconclusive" and res.reason_code.value == "precondition_failed"


def test_b5_pairs_contexts_within_each_generator():
    frame = _insertion(0.6, 0.05)
    res = _run("door-units-context", frame)
    per = frame[frame.context == "building"].groupby("generator").door_added.mean() \
        - frame[frame.context.isin(["sky", "tree"])].groupby("generator").door_added.mean()
    assert res.n == len(GENERATORS)
    assert res.estimate == pytest.approx(per.mean())
