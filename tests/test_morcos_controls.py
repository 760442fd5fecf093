"""The morcos family's instrument controls: every control passes with the real instruments, and for
each instrument one mutation that breaks it fails its control, turns a claim that names the control
inconclusive (control_failed), and fails the gate against the unmutated baseline (both modes).
Also the known answers of the family's new measures (information, chance-corrected area, bends,
noise, the reference recipe's stacked training)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.atomic import write_json
from benchmark.claims.registry import load_claim
from benchmark.controls import write
from benchmark.determinism import pin_threads
from benchmark.evaluate import evaluate
from benchmark.families.morcos import controls, noise, reliance
from benchmark.gate import run_gate, write_baseline
from benchmark.measures import selectivity
from benchmark.probes import ablation
from tests.conftest import REPO
from tests.mutation import MACHINES, entry, mutant
from tests.planted import planted_table

CLAIMS = REPO / "claims"

# instrument -> (module, function, source before, after, where controls calls it, the controls it fails, a claim naming them)
MUTATIONS = {
    "selectivity above its null": (selectivity, "selectivity_null", "return total / permutations", "return total * 0.0",
                                   ["selectivity.shuffled_labels"], "selectivity-not-importance"),
    "mutual information": (selectivity, "class_information", "np.add.at(joint, (b, y), 1.0)",
                           "np.add.at(joint, (b, np.zeros_like(y)), 1.0)", ["information.planted_units"],
                           "information-not-importance"),
    "single-unit ablation": (ablation, "single_unit_importance", "weight[:, units].T.unsqueeze(1), alpha=-1)",
                             "weight[:, units].T.unsqueeze(1), alpha=0)", ["importance.planted_unit"],
                             "selectivity-not-importance"),
    "cumulative ablation": (ablation, "cumulative_ablation_curve", "int(round(frac * total))]] = 0.0",
                            "int(round(frac * total))]] = 1.0", ["cumulative.copies"], "generalizers-resist-ablation"),
    "chance-corrected area": (reliance, "chance_corrected_area", "c = 1.0 / n_classes", "c = 0.0",
                              ["course.diluted_to_chance"], "ablation-tracks-overfitting"),
    "bend at the dropout fraction": (reliance, "kink", "window_slope(fractions, curve, p, 2 * p) - window_slope",
                                     "window_slope(fractions, curve, 0.0, p) - window_slope", ["kink.planted"],
                                     "dropout-protects-up-to-fraction"),
    "noise on every unit": (noise, "noisy_accuracy_curve", "if s > 0:", "if s < 0:", ["noise.copies"],
                            "generalizers-resist-noise"),
}


@pytest.fixture(scope="module")
def real() -> dict[str, object]:
    pin_threads(1)
    return {r.control.id: r for r in controls.run()}


def test_every_control_passes_with_the_real_instruments(real):
    assert set(real) == {c.id for c in controls.CONTROLS} and len(real) == 16
    assert {c.kind for c in controls.CONTROLS} == {"positive", "negative"}
    for instrument in {c.instrument for c in controls.CONTROLS}:  # a positive and a negative for every instrument
        assert {c.kind for c in controls.CONTROLS if c.instrument == instrument} == {"positive", "negative"}, instrument
    failed = {cid: (r.outcome, r.estimate) for cid, r in real.items() if not r.passed}
    assert not failed


def test_every_morcos_claim_names_controls_the_family_runs():
    ids = {f"morcos/{c.id}" for c in controls.CONTROLS}
    for path in sorted(CLAIMS.glob("morcos2018-*.yaml")):
        spec = load_claim(path)
        assert spec.controls and set(spec.controls) <= ids, path.name


@pytest.mark.parametrize("instrument", list(MUTATIONS))
def test_a_broken_instrument_fails_its_control_and_its_claim(instrument, real, tmp_path, monkeypatch):
    module, name, old, new, failing, claim = MUTATIONS[instrument]
    monkeypatch.setattr(controls, name, mutant(module, name, old, new))
    broken = {r.control.id: r for r in controls.run(groups=(controls.group_of(failing[0]),))}
    for cid in failing:
        assert not broken[cid].passed, (cid, broken[cid].outcome, broken[cid].estimate)

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    path = CLAIMS / f"morcos2018-{claim}.yaml"
    spec = load_claim(path)
    table = tmp_path / "t.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    write("morcos", real.values(), tmp_path)
    good, _ = evaluate(path, spec, table)
    assert good.verdict.value == "reproduced", good.reason
    write("morcos", [broken.get(cid, r) for cid, r in real.items()], tmp_path)
    bad, _ = evaluate(path, spec, table)
    assert bad.verdict.value == "inconclusive" and bad.reason_code.value == "control_failed", bad.reason
    assert f"morcos/{failing[0]}" in bad.reason

    design = spec.scales["embedded"].replicates
    for mode in ("exact", "statistical"):
        claims = tmp_path / f"claims-{mode}.json"
        write_json(claims, {"claims": [entry(spec, good, design)], "environment": {"machine": MACHINES["exact"]}})
        base = write_baseline(claims, tmp_path / f"base-{mode}.json")
        write_json(claims, {"claims": [{**entry(spec, bad, design), "reason_code": "control_failed"}],
                            "environment": {"machine": MACHINES[mode]}})
        r = run_gate(base, claims)
        assert r.mode == mode and not r.ok, r.lines


def test_information_of_a_one_class_unit():
    """A unit on for one class of ten and off otherwise carries H(0.1) = 0.469 bits; with the labels
    shuffled, about none; a unit that never varies, exactly none."""
    y = torch.arange(10).repeat_interleave(100)
    on = (y == 3).float().unsqueeze(1)
    acts = torch.cat([on, torch.zeros_like(on)], 1)
    mi = selectivity.class_information(acts, y, 10)
    h = -(0.1 * np.log2(0.1) + 0.9 * np.log2(0.9))
    assert mi[0] == pytest.approx(h, abs=0.01) and mi[1] == 0.0
    assert selectivity.class_information(acts, y[torch.randperm(1000, generator=torch.Generator().manual_seed(0))], 10)[0] < 0.02


def test_chance_corrected_area_ignores_dilution_toward_chance():
    f = np.linspace(0, 1, 11)
    curve = np.clip(1.0 - f, 0.1, None)
    diluted = 0.3 * curve + 0.7 * 0.1  # 70% of examples answered at chance
    assert reliance.chance_corrected_area(f, curve, 10) == pytest.approx(reliance.chance_corrected_area(f, diluted, 10))
    assert math.isnan(reliance.chance_corrected_area(f, np.full(11, 0.12), 10))  # within 0.05 of chance: nothing to lose
    area_norm = lambda c: np.trapezoid(c, f) / c[0]  # noqa: E731  version 2's measure rises toward 1
    assert area_norm(diluted) > area_norm(curve) + 0.05


def test_dropout_kinks_pair_each_dropout_network_with_its_seed_without_dropout():
    f = np.round(np.arange(0, 0.62, 0.02), 2)
    rows = []
    for seed in (1, 2):
        for arch, d, curve in (("mlp", 0.0, 1 - 0.5 * f), ("mlp+dropout=0.2", 0.2, np.where(f <= 0.2, 1.0, 1.2 - f))):
            rows += [{"seed": seed, "arch": arch, "dropout": d, "fraction": x, "accuracy": a, "train_acc": 1.0}
                     for x, a in zip(f, curve)]
    k = reliance.dropout_kinks(pd.DataFrame(rows)).set_index(["seed", "arm"])
    assert set(k["dropout"]) == {0.2} and len(k) == 4
    assert k.loc[(1, "dropout"), "kink"] == pytest.approx(-1.0) and k.loc[(1, "none"), "kink"] == pytest.approx(0.0, abs=1e-9)


def test_noise_leaves_accuracy_alone_at_level_zero_and_refuses_other_networks():
    from benchmark.families.morcos.planted import class_signal_split, redundant_copies
    from benchmark.models.morcos_variants import MLPVariant

    split = class_signal_split()
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    curves = noise.noisy_accuracy_curve(redundant_copies(2, 0), x, y, np.array([0.0, 1.0, 4.0]), np.random.default_rng(0), 2)
    assert (curves[:, 0] == 1.0).all() and (curves[:, 2] < curves[:, 0]).all()
    with pytest.raises(ValueError, match="plain MLP"):
        noise.noisy_accuracy_curve(MLPVariant(10, [8], 10, dropout=0.1), x, y, np.array([0.0, 1.0]), np.random.default_rng(0), 1)


def test_reference_recipe_trains_each_stacked_network_as_it_would_alone():
    from benchmark.families.morcos.experiments import ReferenceExperiment
    from benchmark.families.morcos.planted import class_signal_split
    from benchmark.families.morcos.reference import train

    split = class_signal_split(n_per_class=20)
    exp = ReferenceExperiment(dataset="x", hidden=16, steps=20, lr=0.01, batch_size=50, seeds=[3, 4])
    both, rows = train(exp, split, [3, 4])
    alone, _ = train(exp, split, [4])
    for k in both:
        torch.testing.assert_close(both[k][1], alone[k][0], rtol=1e-5, atol=1e-6)
    assert [r["seed"] for r in rows] == [3, 4] and all(0 <= r["test_acc"] <= 1 for r in rows)


def test_the_controls_networks_move_with_the_draw(real):
    """A second draw (seed_offset) builds other planted networks: the controls are redrawn too."""
    moved = {r.control.id: r for r in controls.run({"seed_offset": 1000}, groups=("units",))}
    assert moved["selectivity.planted_units"].estimate != real["selectivity.planted_units"].estimate
    assert all(r.passed for r in moved.values())
