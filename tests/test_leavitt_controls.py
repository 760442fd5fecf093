"""The leavitt family's instrument controls: each passes on its built-in answer, and one mutation per
instrument (the selectivity index, the regularizer, corruptions, attacks, dimensionality) fails its
control, turns a claim that names it inconclusive, and fails the gate against the unmutated run."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from benchmark.atomic import write_json
from benchmark.claims.registry import load_claim
from benchmark.config import CorruptionProbe, SweepNet
from benchmark.controls import decide, write
from benchmark.data.splits import Split
from benchmark.evaluate import evaluate
from benchmark.families.leavitt import controls as C
from benchmark.families.leavitt import corruptions, dimensionality, probes, regularizer
from benchmark.gate import run_gate, write_baseline
from benchmark.measures import selectivity
from tests.conftest import REPO
from tests.mutation import MACHINES, entry, mutant
from tests.planted import planted_table

CLAIMS = REPO / "claims"


def _images(n_per_class: int = 12, seed: int = 0) -> Split:
    """Digits-like 8x8 images: one bright template per class plus noise, in [0, 1]."""
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0, 1, size=(10, 8, 8)) > 0.6
    y = np.repeat(np.arange(10), n_per_class)
    x = np.clip(templates[y] * 0.8 + rng.uniform(0, 0.2, size=(len(y), 8, 8)), 0, 1).astype(np.float32)
    return Split(x, y.astype(np.int64), x.copy(), y.astype(np.int64), 10)


def _planted(split):
    return [C.planted_selectivity(split, "digits", s) for s in C.SEEDS[:2]]


def _regularizer(split):
    net = SweepNet(dataset="digits", arch="conv2d", hidden=[4, 8], epochs=1, lr=0.01, batch_size=32)
    return [C.regularizer_sign(split, net, s, steps=10) for s in C.SEEDS[:3]]


def _degrades(split):
    noisy, model = C.margin_split(d=1)  # margins 1-1.1 against noise of SD 1 (the signals' top severity)
    probes._CORRUPTED.clear()
    cfg = CorruptionProbe(kinds={"margin": ["gaussian_noise"]}, severities=[3], seed=0)
    out = [probes.corruption(model, {"seed": 0, "alpha": 0.0, "dataset": "margin"}, noisy, cfg)["corruption"][0]
           ["relative_accuracy"]]
    probes._CORRUPTED.clear()
    return out


def _flip(split):
    return [a for s in C.SEEDS[:2] for a in C.attacked_accuracy(2.0, s)]


def _rank(split):
    return [C.known_rank(k, 0, n=200, d=64) for k in (1, 4, 8)]


# instrument -> (control, how it is measured, the mutation: module, name, old, new, where it is used, a claim naming it)
MUTATIONS = {
    "selectivity index": ("selectivity.planted", _planted,
                          (selectivity, "selectivity_index", "return (mu_max - mu_rest) /", "return (mu_rest - mu_max) /",
                           probes, "selectivity_index"), "leavitt2021-manipulation-lowers.yaml"),
    "regularizer": ("regularizer.sign", _regularizer,
                    (regularizer, "SelectivityRegularizer", "return logits, -self.alpha *", "return logits, self.alpha *",
                     C, "SelectivityRegularizer"), "leavitt2021-reducing-selectivity-costs-little.yaml"),
    "corruptions": ("corruption.degrades", _degrades,
                    (corruptions, "corrupt", "out = x + p * rng.standard_normal", "out = x + 0 * rng.standard_normal",
                     probes, "corrupt"), "leavitt2020-lower-selectivity-robust-average.yaml"),
    "attacks": ("attack.threshold_flip", _flip,
                (None, "fgsm", "_clip(x + eps * g.sign()", "_clip(x - eps * g.sign()", None, "fgsm"),
                "leavitt2020-lower-selectivity-vulnerable-worst.yaml"),
    "dimensionality": ("dimensionality.known_rank", _rank,
                       (dimensionality, "n_components", "variance - 1e-12) + 1)", "variance - 1e-12) + 2)",
                        C.dimensionality, "n_components"), "leavitt2020-dimensionality.yaml"),
}


def _results():
    """Every declared control passing on a stand-in value (the test replaces the mutated one's)."""
    return [decide(c, [c.threshold + 1.0 if c.rule == "at_least" else c.threshold - 1.0 if c.rule == "at_most" else 0.0])
            for c in C.DECLARED]


@pytest.mark.parametrize("instrument", sorted(MUTATIONS))
def test_a_broken_instrument_fails_its_control_and_its_claims(instrument, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    cid, measure, (module, name, old, new, used_in, attr), claim_file = MUTATIONS[instrument]
    split = _images()
    good = decide(C.BY_ID[cid], measure(split))
    assert good.outcome == "pass", (instrument, good)

    if instrument == "attacks":  # FGSM is looked up by name in the attacks table
        from benchmark.families.leavitt import attacks

        broken = mutant(attacks, name, old, new)
        monkeypatch.setitem(attacks.ATTACKS, "fgsm", broken)
    else:  # a module that defines a dataclass needs its copy registered while the class is built
        monkeypatch.setitem(sys.modules, f"{module.__name__}__mutant", types.ModuleType(f"{module.__name__}__mutant"))
        monkeypatch.setattr(used_in, attr, mutant(module, name, old, new))
    bad = decide(C.BY_ID[cid], measure(split))
    assert bad.outcome != "pass", (instrument, bad)

    path = CLAIMS / claim_file
    spec = load_claim(path)
    assert f"leavitt/{cid}" in spec.controls
    table = tmp_path / "t.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    write("leavitt", [r if r.control.id != cid else good for r in _results()], tmp_path)
    base, _ = evaluate(path, spec, table)
    write("leavitt", [r if r.control.id != cid else bad for r in _results()], tmp_path)
    cur, _ = evaluate(path, spec, table)
    assert cur.verdict.value == "inconclusive" and cur.reason_code.value == "control_failed", cur.reason
    assert f"leavitt/{cid}" in cur.reason

    claims = tmp_path / "claims.json"
    write_json(claims, {"claims": [entry(spec, base, 61)], "environment": {"machine": MACHINES["exact"]}})
    baseline = write_baseline(claims, tmp_path / "baseline.json")
    write_json(claims, {"claims": [{**entry(spec, cur, 61), "reason_code": "control_failed"}],
                        "environment": {"machine": MACHINES["exact"]}})
    assert not run_gate(baseline, claims).ok


def test_every_declared_control_is_named_by_a_claim_and_every_claim_names_declared_ones():
    named = set()
    for path in CLAIMS.glob("leavitt20*.yaml"):
        spec = load_claim(path)
        assert spec.controls, f"{path.name} names no control"
        for c in spec.controls:
            family, cid = c.split("/", 1)
            assert family == "leavitt" and cid in C.BY_ID, (path.name, c)
            named.add(cid)
    assert named == set(C.BY_ID)


def test_placebo_pairs_seeds_within_a_dataset():
    import pandas as pd

    rows = [{"dataset": d, "alpha": a, "seed": s, "y": s * (1 if a == 0 else 10)}
            for d in ("a", "b") for a in (0.0, 1.0) for s in range(5)]
    got = C.placebo(pd.DataFrame(rows), "y")
    assert sorted(got.tolist()) == [-1.0, -1.0, -1.0, -1.0]  # (0, 1), (2, 3) per dataset; seed 4 unpaired, alpha 1 unused


def test_the_floor_is_the_selectivity_of_class_blind_units():
    split = _images(n_per_class=30)
    maps = C.planted_maps(split.y_test, 10, (3, 3), seed=0)
    model = C._Planted(maps, 10)
    row = probes.layer_selectivity(model, {"seed": 1, "alpha": 0.0, "dataset": "digits"}, split,
                                   probes.LayerSelectivityProbe(split="test"))["layer_selectivity"][0]
    assert abs(row["mean_selectivity"] - C.PLANTED_SI) < 0.05
    assert 0 < row["selectivity_floor"] < 0.1  # permuted labels: the planted preference is gone
    again = probes.layer_selectivity(model, {"seed": 1, "alpha": 0.0, "dataset": "digits"}, split,
                                     probes.LayerSelectivityProbe(split="test"))["layer_selectivity"][0]
    assert again["selectivity_floor"] == row["selectivity_floor"]  # a fixed function of the network's seed
    assert torch.is_tensor(model.activations(torch.zeros(2))[0])
