"""The gate catches broken probes, not only changed verdict words.

First the rules on hand-written report entries (the M1 case that passed: inconclusive before and
after, with n 12 -> 0 and a NaN estimate); then one known-broken probe per probe family, each a
one-line source mutation: the baseline comes from the real probe on a small hand-built fixture,
the current verdict from the mutant, through the real claim test and the real gate.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from benchmark.atomic import read_json, write_json
from benchmark.claims.registry import load_claim
from benchmark.claims.spec import ClaimSpec
from benchmark.cli import main as claims_main
from benchmark.config import CumulativeAblationProbe, LayerSelectivityProbe, UnitAblationProbe
from benchmark.gate import compare, reason_code, write_baseline
from benchmark.models.mlp import MLP
from benchmark.stats.kinds import run_test
from benchmark.stats.result import Verdict
from tests.conftest import REPO
from tests.known_models import class_signal_split, redundant_copies, selective_units_decide
from tests.mutation import MACHINES, gate, mutant

M1_PATH = REPO / "claims" / "morcos2018-selectivity-not-importance.yaml"
M2_PATH = REPO / "claims" / "morcos2018-generalizers-resist-ablation.yaml"


def _entry(**over):
    e = {"claim_id": "morcos2018.selectivity-not-importance", "version": 1, "verdict": "inconclusive",
         "reason": "the interval overlaps both the claim and its contrary", "reason_code": "overlap", "n": 12,
         "replicates_design": 12, "estimate": 0.148, "ci_low": 0.110, "ci_high": 0.185, "ci_level": 0.9}
    e.update(over)
    return e


def _gate(tmp_path, base: dict, cur: dict, *args, mode: str = "exact") -> tuple[int, str]:
    """`claims baseline` on machine class a, then `claims gate` on verdicts of class a (exact mode)
    or class b (statistical mode)."""
    write_json(tmp_path / "claims.json", {"claims": [base], "environment": {"machine": MACHINES["exact"]}})
    assert claims_main(["baseline", "--current", str(tmp_path / "claims.json"),
                        "--baseline", str(tmp_path / "baseline.json")]) == 0
    write_json(tmp_path / "claims.json", {"claims": [cur], "environment": {"machine": MACHINES[mode]}})
    return claims_main(["gate", "--baseline", str(tmp_path / "baseline.json"),
                        "--current", str(tmp_path / "claims.json"), *args]), ""


def test_broken_probe_with_the_same_verdict_fails_the_gate(tmp_path, capsys):
    """The reported case: M1 inconclusive before and after, 12 networks -> none, estimate NaN."""
    broken = _entry(reason="too little evidence: 0 replicates < 5 required", reason_code="too_little_evidence",
                    n=0, estimate=math.nan, ci_low=math.nan, ci_high=math.nan)
    rc, _ = _gate(tmp_path, _entry(), broken)
    out = capsys.readouterr().out
    assert rc == 1 and "gate: FAIL" in out
    for what in ("no replicates (n = 0)", "estimate became NaN", "ci_low became NaN",
                 "reason changed category: overlap -> too_little_evidence"):
        assert what in out, out


@pytest.mark.parametrize("change, message", [
    ({"n": 9}, "9 replicates < 12 in the claim's design"),
    ({"estimate": math.nan}, "estimate became NaN"),
    ({"ci_high": math.nan}, "ci_high became NaN"),
    ({"reason": "precondition failed: door units exist", "reason_code": "precondition_failed"},
     "overlap -> precondition_failed"),
    ({"verdict": "falsified", "reason_code": "contrary"}, "verdict inconclusive -> falsified"),
])
def test_each_check_fails_alone(tmp_path, capsys, change, message):
    rc, _ = _gate(tmp_path, _entry(), _entry(**change))
    out = capsys.readouterr().out
    assert rc == 1 and message in out, out


def test_estimate_leaving_the_interval_warns_in_statistical_mode_without_a_standard_error(tmp_path, capsys):
    """An older report without standard errors: the shift cannot be judged, only warned about."""
    rc, _ = _gate(tmp_path, _entry(), _entry(estimate=0.3, ci_low=0.25, ci_high=0.35), mode="statistical")
    out = capsys.readouterr().out
    assert rc == 0 and "warn" in out and "left the baseline's interval" in out and "gate: PASS in statistical mode" in out


def test_exact_mode_fails_on_any_moved_estimate(tmp_path, capsys):
    """On the baseline's own machine class the same code gives the same bytes: a moved estimate is a change."""
    rc, _ = _gate(tmp_path, _entry(), _entry(estimate=0.15))
    assert rc == 1 and "estimate moved: 0.148 -> 0.15 (exact mode" in capsys.readouterr().out
    rc, _ = _gate(tmp_path, _entry(), _entry(estimate=0.148 * (1 + 1e-9)))
    assert rc == 0, "a rounding-level difference is within the numerical tolerance"


def test_unchanged_passes_and_missing_fields_are_unknown_not_failures(tmp_path, capsys):
    rc, _ = _gate(tmp_path, _entry(), _entry())
    assert rc == 0
    rc, _ = _gate(tmp_path, _entry(), _entry(estimate=0.15), mode="statistical")
    assert rc == 0
    legacy = {"claim_id": "morcos2018.selectivity-not-importance", "version": 1, "verdict": "inconclusive"}
    rc, _ = _gate(tmp_path, legacy, legacy)
    out = capsys.readouterr().out
    assert rc == 0 and "not checked, missing: n" in out


def test_replicates_left_out_by_a_drop_precondition_count_towards_the_design(tmp_path, capsys):
    """Generators without door units are left out by design (on_fail: drop): not a lost replicate."""
    rc, _ = _gate(tmp_path, _entry(), _entry(n=9, replicates_dropped=3))
    assert rc == 0
    rc, _ = _gate(tmp_path, _entry(), _entry(n=9, replicates_dropped=1))
    assert rc == 1 and "(+ 1 left out by a precondition) < 12" in capsys.readouterr().out


def test_a_design_sized_per_stratum_is_checked_stratum_by_stratum(tmp_path, capsys):
    """L2 v3 decides on its weakest stratum (16 digits seeds) but was designed with 161 mnist1d
    seeds (claim file scales.embedded.strata): each stratum is checked against its own count, so
    losing one network in either stratum fails, and so does a stratum that vanished."""
    design = {"dataset digits": 3, "dataset mnist1d": 12}
    strata = lambda small, big: [{"name": "dataset digits", "n": small}, {"name": "dataset mnist1d", "n": big}]  # noqa: E731
    entry = lambda **kw: _entry(n=3, replicates_design=12, replicates_design_strata=design, **kw)  # noqa: E731
    rc, _ = _gate(tmp_path, entry(strata=strata(3, 12)), entry(strata=strata(3, 12)))
    assert rc == 0
    rc, _ = _gate(tmp_path, entry(strata=strata(3, 12)), entry(strata=strata(3, 11)))
    assert rc == 1 and "stratum 'dataset mnist1d': 11 replicates < 12" in capsys.readouterr().out
    rc, _ = _gate(tmp_path, entry(strata=strata(3, 12)), entry(strata=strata(2, 12)))
    assert rc == 1 and "stratum 'dataset digits': 2 replicates < 3" in capsys.readouterr().out
    rc, _ = _gate(tmp_path, entry(strata=strata(3, 12)), entry(strata=strata(3, 12)[:1]))
    assert rc == 1 and "stratum 'dataset mnist1d' is absent" in capsys.readouterr().out


def test_design_unknown_falls_back_to_the_baseline_n(tmp_path, capsys):
    base, cur = _entry(replicates_design=None), _entry(replicates_design=None, n=11)
    base.pop("replicates_design"), cur.pop("replicates_design")
    rc, _ = _gate(tmp_path, base, cur)
    assert rc == 1 and "11 replicates < 12 in the baseline" in capsys.readouterr().out


def test_only_regressions_still_fails_on_broken_evidence(tmp_path, capsys):
    better = _entry(verdict="reproduced", reason_code="supported", reason="the effect is significantly inside the bound")
    rc, _ = _gate(tmp_path, _entry(), better, "--only-regressions")
    assert rc == 0
    rc, _ = _gate(tmp_path, _entry(), _entry(n=0, estimate=math.nan), "--only-regressions")
    assert rc == 1


def test_baseline_stores_what_the_checks_need(tmp_path):
    old_style = _entry()
    old_style.pop("reason_code")
    write_json(tmp_path / "c.json", {"claims": [old_style]})
    write_baseline(tmp_path / "c.json", tmp_path / "b.json")
    (stored,) = read_json(tmp_path / "b.json")["claims"]
    assert stored["reason_code"] == "overlap"  # derived from the sentence of older reports
    assert {"n", "replicates_design", "estimate", "ci_low", "ci_high", "verdict", "version"} <= set(stored)


@pytest.mark.parametrize("reason, code", [
    ("manipulation failed: leavitt2021.manipulation-check not reproduced", "manipulation_failed"),
    ("too little evidence: the test statistic is undefined (no variance or no data)", "undefined"),
    ("too little evidence: 0 replicates < 5 required", "too_little_evidence"),
    ("the effect is significantly beyond the bound", "contrary"),
    ("the effect is significant but smaller than the smallest effect of interest", "contrary"),
    ("the effect is significantly in the claimed direction", "supported"),
    ("the effect is significantly inside the bound", "supported"),
])
def test_reason_category_of_older_reports(reason, code):
    assert reason_code({"reason": reason}) == code


# ---- one known-broken probe per probe family -------------------------------------------------


def fixture_claim(cid: str, experiment: str, table: str, columns: list[str], test: dict) -> ClaimSpec:
    """A claim for a probe fixture, shaped like the family's claim at the time of writing (the
    families' own files are being rewritten; the fixture must not move with them)."""
    raw = load_claim(M1_PATH).model_dump(mode="json")
    raw.update(id=cid, requires=[], test=test,
               evidence={"experiment": experiment, "table": table, "columns": {c: c for c in columns}})
    raw["paper"]["key"] = cid.split(".")[0]
    return ClaimSpec.model_validate(raw)


def _assert_gate_fails(tmp_path, spec, base, cur, design, *expected):
    """The mutant fails the gate in both modes: on the baseline's machine class (exact) and on
    another class (statistical, where only shifts beyond a new draw's spread count)."""
    texts = []
    for mode in ("exact", "statistical"):
        ok, lines = gate(tmp_path, spec, base, cur, design, mode)
        text = "\n".join(lines)
        assert not ok, f"{mode} mode passed the mutant:\n{text}"
        if mode == "exact":
            for e in expected:
                assert e in text, text
        texts.append(text)
    return "\n".join(texts)


def test_mutation_unit_ablation_disabled(tmp_path, monkeypatch):
    """morcos2018 M1: the reported mutation, alpha=-1 -> alpha=0 in the rank-1 update: every
    importance is 0, every per-network correlation undefined, n = 0."""
    from benchmark.families.morcos import probes as registry  # the morcos probes, as the registry runs them
    from benchmark.probes import ablation

    split, spec = class_signal_split(n_per_class=15), load_claim(M1_PATH)
    cfg = UnitAblationProbe(split="test")

    def evidence():
        rows = []
        for seed in range(6):
            rows += registry.unit_ablation(selective_units_decide(seed), {"seed": seed, "label_noise": 0.0},
                                           split, cfg)["unit_ablation"]
        return run_test(pd.DataFrame(rows), spec, M1_PATH, "fixture")

    base = evidence()
    assert base.n == 6 and base.verdict == Verdict.FALSIFIED
    broken = mutant(ablation, "single_unit_importance", "alpha=-1)", "alpha=0)")
    monkeypatch.setattr(registry, "single_unit_importance", broken)
    cur = evidence()
    assert cur.n == 0 and math.isnan(cur.estimate)
    _assert_gate_fails(tmp_path, spec, base, cur, 6, "no replicates (n = 0)", "estimate became NaN",
                       "verdict falsified -> inconclusive")


def test_mutation_cumulative_ablation_ablates_nothing(tmp_path, monkeypatch):
    """morcos2018 M2: the ablation mask sets kept units to 0.0 -> 1.0: nothing is ablated, every
    area equals the unablated accuracy, the decline with label noise vanishes."""
    from benchmark.families.morcos import probes as registry  # the morcos probes, as the registry runs them
    from benchmark.probes import ablation

    split, spec = class_signal_split(n_per_class=15), load_claim(M2_PATH)
    cfg = CumulativeAblationProbe(split="test", orders=3, fractions=[0.0, 0.25, 0.5, 0.75, 1.0])
    levels = {0.0: 4, 0.5: 2, 1.0: 1}  # label noise -> copies per class

    def evidence():
        rows = []
        for noise, copies in levels.items():
            for seed in range(4):
                rows += registry.cumulative_ablation(redundant_copies(copies, seed), {"seed": seed, "label_noise": noise},
                                                     split, cfg)["ablation_auc"]
        return run_test(pd.DataFrame(rows), spec, M2_PATH, "fixture")

    base = evidence()
    assert base.verdict == Verdict.REPRODUCED, base.reason
    broken = mutant(ablation, "cumulative_ablation_curve", "int(round(frac * total))]] = 0.0",
                    "int(round(frac * total))]] = 1.0")
    monkeypatch.setattr(registry, "cumulative_ablation_curve", broken)
    cur = evidence()
    _assert_gate_fails(tmp_path, spec, base, cur, 12, "verdict reproduced ->")


def graded_selectivity(mix: float, seed: int, n_classes: int = 10) -> MLP:
    """Layer units copy one input each, mixed with a share `mix` of every input: the more mixing,
    the less class-selective the units (a stand-in for the selectivity regularizer's alpha)."""
    g = torch.Generator().manual_seed(seed)
    model = MLP(n_classes, [n_classes], n_classes)
    m = mix + 0.02 * float(torch.rand(1, generator=g))
    w = (1 - m) * torch.eye(n_classes) + m / n_classes * torch.ones(n_classes, n_classes)
    with torch.no_grad():
        for lin in (*model.hidden, model.out):
            lin.weight.copy_(w)
            lin.bias.zero_()
    return model.eval()


def test_mutation_selectivity_index_sign(tmp_path, monkeypatch):
    """leavitt2021 L0 (selectivity sweep, manipulation check): the index computed as
    (mu_rest - mu_max) instead of (mu_max - mu_rest): selectivity falls where it rises."""
    from benchmark.families.leavitt import probes as robustness
    from benchmark.measures import selectivity

    spec = fixture_claim("leavitt2021.fixture-manipulation-check", "experiment", "layer_selectivity",
                         ["seed", "alpha", "dataset", "layer", "stratum", "mean_selectivity"], {
        "kind": "trend", "form": "directional", "direction": "greater", "sesoi": 0.01, "alpha": 0.05, "power": 0.8,
        "min_replicates": 6, "params": {"x": "alpha", "y": "mean_selectivity", "replicate": "seed",
                                        "x_scale": "rank", "strata": "stratum"},
        "estimand": "every_stratum", "strata_levels": ["fixture/layer0"]})
    split, cfg = class_signal_split(), LayerSelectivityProbe(split="test")
    alphas = {-1.0: 0.6, 0.0: 0.5, 1.0: 0.3}  # alpha -> mixing: selectivity about linear in the grid rank

    def evidence():
        rows = []
        for a, mix in alphas.items():
            for seed in range(3):
                rows += robustness.layer_selectivity(graded_selectivity(mix, seed), {"seed": seed, "alpha": a,
                                                     "dataset": "fixture"}, split, cfg)["layer_selectivity"]
        return run_test(pd.DataFrame(rows), spec, "fixture-claim", "fixture")

    base = evidence()
    assert base.verdict == Verdict.REPRODUCED, base.reason
    broken = mutant(selectivity, "selectivity_index", "return (mu_max - mu_rest) /", "return (mu_rest - mu_max) /")
    monkeypatch.setattr(robustness, "selectivity_index", broken)
    cur = evidence()
    _assert_gate_fails(tmp_path, spec, base, cur, 9, "verdict reproduced -> falsified")


class TreeDrawingGenerator:
    """A stand-in generator for dissection: at its one layer (6 units on an 8x8 grid) units 0 and 1
    are on where the latent puts a tree, units 2-5 follow unrelated parts of the latent; the image
    is tree wherever units 0 and 1 together are on, so zeroing both removes every tree."""

    nz = 64 * 6

    def layer_width(self, layer: int) -> int:
        return 6

    def features(self, z: torch.Tensor, layer: int) -> torch.Tensor:
        maps = z.view(len(z), 6, 8, 8)
        tree = (maps[:, :1] > 0.3).float() * (1 + torch.sigmoid(maps[:, 1:2]))
        return torch.cat([tree, tree, torch.relu(maps[:, 2:]) * 1.5], 1)

    def resume(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        return F.interpolate(h[:, :2].sum(1, keepdim=True), size=(32, 32), mode="nearest")


def segment_trees(seg, images: torch.Tensor) -> torch.Tensor:
    from benchmark.data.scenes import CID

    return torch.where(images[:, 0] > 1.0, CID["tree"], CID["sky"]).long()


def test_mutation_dissection_iou_inverted(tmp_path, monkeypatch):
    """bau2020 B4 (GAN dissection): the streaming IoU returns 1 - IoU (union - inter over union):
    the 'tree units' are the units that match trees worst, and zeroing them removes no trees."""
    from benchmark.families.scene_gan import probes as gan_dissect
    from benchmark.probes import streaming

    monkeypatch.setattr(gan_dissect, "segment", segment_trees)
    spec = fixture_claim("bau2020.fixture-tree-units", "scene_gan", "tree_removal",
                         ["generator", "sample", "contrast", "y", "tree_base", "tree_top", "tree_random"], {
        "kind": "replicate_mean", "form": "directional", "direction": "greater", "sesoi": 0.2, "alpha": 0.05,
        "power": 0.8, "min_replicates": 30, "params": {"y": "y", "replicate": "sample", "strata": "contrast"},
        "estimand": "every_stratum", "strata_levels": ["removed", "removed_minus_random"]})
    g = TreeDrawingGenerator()
    z = torch.randn(200, g.nz, generator=torch.Generator().manual_seed(0))

    def evidence():
        d = gan_dissect.dissect(g, None, z, 1, 0.7, np.random.default_rng(0))
        units = gan_dissect.top_units(d["iou"], "tree", 2)
        per_image, _ = gan_dissect.tree_removal(g, None, z, 1, units, np.random.default_rng(1))
        table = gan_dissect.tree_removal_evidence(per_image, seed=0)
        return run_test(table, spec, "fixture-claim", "fixture"), sorted(units.tolist())

    base, units = evidence()
    assert units == [0, 1] and base.verdict == Verdict.REPRODUCED, (units, base.reason)
    from benchmark.probes import dissection as shared_dissection  # the one dissection loop (GANs and classifiers)

    monkeypatch.setattr(shared_dissection, "RunningIoU", mutant(streaming, "RunningIoU", "inter / np.where(union > 0",
                                                          "(union - inter) / np.where(union > 0"))
    cur, units = evidence()
    assert 0 not in units and 1 not in units
    _assert_gate_fails(tmp_path, spec, base, cur, 200, "verdict reproduced -> falsified")


def thresholded_copies(threshold: float, seed: int, n_classes: int = 10) -> MLP:
    """Hidden unit c fires when input c exceeds `threshold` (plus a little per-seed jitter) and votes
    for class c: the higher the threshold, the smaller the L-inf step that silences the true
    class (a stand-in for a sweep whose worst-case robustness falls with alpha)."""
    g = torch.Generator().manual_seed(seed)
    t = threshold + 0.05 * float(torch.rand(1, generator=g))
    model = MLP(n_classes, [n_classes], n_classes)
    with torch.no_grad():
        model.hidden[0].weight.copy_(torch.eye(n_classes))
        model.hidden[0].bias.fill_(-t)
        model.out.weight.copy_(torch.eye(n_classes))
        model.out.bias.zero_()
    return model.eval()


def test_mutation_fgsm_steps_downhill(tmp_path, monkeypatch):
    """leavitt2020 L4 (selectivity sweep, worst-case robustness): FGSM steps against the gradient
    (x - eps sign(grad)): the 'attack' helps the network and the robustness trend vanishes."""
    from benchmark.config import AttackProbe
    from benchmark.families.leavitt import attacks, probes as robustness

    spec = fixture_claim("leavitt2020.fixture-robust-worst", "experiment", "attack",
                         ["seed", "alpha", "dataset", "attack", "epsilon", "relative_accuracy"], {
        "kind": "trend", "form": "directional", "direction": "less", "sesoi": 0.01, "alpha": 0.05, "power": 0.8,
        "min_replicates": 6, "params": {"x": "alpha", "y": "relative_accuracy", "replicate": "seed",
                                        "x_scale": "rank", "where": {"attack": ["fgsm"]}}})
    split = class_signal_split(n_per_class=15)
    cfg = AttackProbe(attacks=["fgsm"], epsilons={"fixture": [1.0]})
    levels = {-1.0: 1.7, 0.0: 1.9, 1.0: 2.1}  # alpha -> firing threshold

    def evidence():
        rows = []
        for a, t in levels.items():
            for seed in range(3):
                rows += robustness.attacks(thresholded_copies(t, seed), {"seed": seed, "alpha": a, "dataset": "fixture"},
                                           split, cfg)["attack"]
        return run_test(pd.DataFrame(rows), spec, "fixture-claim", "fixture")

    base = evidence()
    assert base.verdict == Verdict.REPRODUCED, (base.estimate, base.reason)
    fgsm = mutant(attacks, "fgsm", "_clip(x + eps * g.sign()", "_clip(x - eps * g.sign()")
    monkeypatch.setitem(attacks.ATTACKS, "fgsm", fgsm)
    monkeypatch.setattr(attacks, "fgsm", fgsm)
    cur = evidence()
    _assert_gate_fails(tmp_path, spec, base, cur, 9, "verdict reproduced ->")
