"""The olah2017 family's instrument controls: each instrument passes its positive control on
inputs with the effect built in, a one-line break of the instrument (tests/mutation.py) fails it,
the claims that rely on it turn inconclusive, and the gate fails against the unbroken baseline.

Inputs with the effect built in: procedural scenes with exact concept masks, labelled by a
nearest-colour segmenter fitted on those masks (99.98% of pixels right), planted concept units
(a channel whose activation is a concept's mask), and networks that know each scene's class."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from torch import nn

from benchmark import controls as core
from benchmark.claims.registry import load_claim
from benchmark.data import scene_classes
from benchmark.data.scenes import CID
from benchmark.evaluate import evaluate
from benchmark.families.feature_vis import controls as fc
from benchmark.families.feature_vis import measures
from tests.conftest import REPO
from tests.mutation import gate, mutant
from tests.planted import planted_table


@pytest.fixture(scope="module")
def scenes():
    s = scene_classes.generate(9 * 8, np.random.default_rng(0))
    x = torch.from_numpy(scene_classes.to_tensor_range(s.images))
    m = torch.from_numpy(s.masks.astype(np.int64))
    means = torch.stack([x.permute(0, 2, 3, 1)[m == k].mean(0) if (m == k).any() else torch.full((3,), 9.0)
                         for k in range(int(m.max()) + 1)])

    def labeller(images):
        return ((images.permute(0, 2, 3, 1)[..., None, :] - means) ** 2).sum(-1).argmin(-1)

    real = {c: x[torch.from_numpy(np.flatnonzero(s.classes == c))] for c in range(len(scene_classes.CLASSES))}
    concepts = {i: [CID[k] for k in scene_classes.CLASS_CONCEPTS[c]] for i, c in enumerate(scene_classes.CLASSES)}
    return types.SimpleNamespace(x=x, y=s.classes, real=real, labeller=labeller, concepts=concepts)


class ConceptUnits(nn.Module):
    """Planted units: channel k of the last layer is concept k's mask (from the colour segmenter)."""

    def __init__(self, labeller, n_concepts: int):
        super().__init__()
        self.labeller, self.n = labeller, n_concepts

    def all_features(self, x):
        maps = nn.functional.one_hot(self.labeller(x), self.n).permute(0, 3, 1, 2).double()
        return [maps, maps, maps, nn.functional.avg_pool2d(maps, 4)]


class KnowsTheClass(nn.Module):
    """A network that knows each fixture scene's class (logit 10 for it, 0 for the others)."""

    def __init__(self, x, y, n: int):
        super().__init__()
        self.table = {round(float(v.sum()), 2): int(c) for v, c in zip(x, y)}
        self.n = n

    def forward(self, x):
        return 10.0 * nn.functional.one_hot(torch.tensor([self.table[round(float(v.sum()), 2)] for v in x]), self.n).double()


def _gain(fn, sc):
    torch.manual_seed(0)
    nets = [(s, KnowsTheClass(sc.x, sc.y, 9)) for s in (1, 2)]
    return fc.gain_values(nets, sc.real, split=fn)


def _cost(fn, sc):
    return fc.activation_cost_values([(1, ConceptUnits(sc.labeller, 10))], sc.x, 4, 4, np.random.default_rng(0), cost=fn)


def _transfer(fn, sc):
    nets = [(s, KnowsTheClass(sc.x, sc.y, 9)) for s in (1, 2, 3)]
    return {"transfer.real_class_images": [float(np.mean(fn(sc.x, sc.y, [m]))) for _, m in nets]}


# instrument: (module, function, the break, control values from the (broken) function, control, claim file)
CASES = {
    "hf_share": (measures, "hf_share", ("high = p[:, r > cutoff].sum(1)", "high = p[:, r > 0].sum(1)"),
                 lambda fn, sc: fc.hf_values(sc.real, hf=fn), "hf_share.low_pass_real",
                 "olah2017-regularization-removes-high-frequencies"),
    "gain_split": (measures, "softmax_gain_split", ('"from_others": from_others}', '"from_others": from_target}'),
                   _gain, "gain_split.others_lowered", "olah2017-logit-beats-softmax"),
    "concept_share": (measures, "concept_share", ("torch.isin(labels, torch.tensor(concepts))", "torch.isin(labels, labels)"),
                      lambda fn, sc: {"concept_share.real_class_images": fc.concept_values(
                          {c: sc.labeller(v) for c, v in sc.real.items()}, sc.concepts, share=fn)},
                      "concept_share.real_class_images", "olah2017-logit-images-show-the-class"),
    "label_distance": (measures, "label_distance", ("(flat[i] != flat[j])", "(flat[i] != flat[i])"),
                       lambda fn, sc: fc.label_distance_values(sc.real, sc.labeller, np.random.default_rng(0), distance=fn),
                       "label_distance.mixed_vs_repeated", "olah2017-diversity-reveals-facets"),
    "activation_cost": (measures, "activation_cost", ("return (plain - other) / scale", "return (plain - plain) / scale"),
                        _cost, "activation_cost.real_top_vs_random", "olah2017-diversity-costs-little"),
    "transfer": (measures, "transfer", ("torch.softmax(m(images).double(), 1)", "torch.softmax(m(images).double() * 0, 1)"),
                 _transfer, "transfer.real_class_images", "olah2017-regularized-visualizations-transfer"),
}


def _passing(ctl: core.Control) -> core.ControlResult:
    value = {"at_least": ctl.threshold + 1, "at_most": ctl.threshold - 1, "within": 0.0}[ctl.rule]
    return core.decide(ctl, [value])


@pytest.mark.parametrize("instrument", sorted(CASES))
def test_a_broken_instrument_fails_its_control_and_its_claims_turn_inconclusive(instrument, scenes, tmp_path, monkeypatch):
    module, name, (old, new), values, control, claim = CASES[instrument]
    good = core.decide(fc.BY_ID[control], values(getattr(module, name), scenes)[control])
    broken = core.decide(fc.BY_ID[control], values(mutant(module, name, old, new), scenes)[control])
    assert good.outcome == "pass", good
    assert broken.outcome != "pass", broken

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    path = REPO / "claims" / f"{claim}.yaml"
    spec = load_claim(path)
    assert f"feature_vis/{control}" in spec.controls
    table = tmp_path / "t.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    others = [_passing(fc.BY_ID[c.split("/", 1)[1]]) for c in spec.controls if c != f"feature_vis/{control}"]
    core.write("feature_vis", [good, *others], tmp_path)
    base, _ = evaluate(path, spec, table)
    core.write("feature_vis", [broken, *others], tmp_path)
    current, _ = evaluate(path, spec, table)
    assert base.verdict.value == "reproduced", base.reason
    assert current.verdict.value == "inconclusive" and current.reason_code.value == "control_failed", current.reason
    ok, lines = gate(tmp_path, spec, base, current, spec.scales["embedded"].replicates)
    assert not ok, lines


def test_every_control_a_claim_names_is_declared_and_every_instrument_has_both_kinds():
    declared = {f"feature_vis/{c.id}" for c in fc.CONTROLS}
    for path in sorted((REPO / "claims").glob("olah2017-*.yaml")):
        spec = load_claim(path)
        assert spec.controls and set(spec.controls) <= declared, (path.name, spec.controls)
    kinds: dict[str, set[str]] = {}
    for c in fc.CONTROLS:
        kinds.setdefault(c.instrument, set()).add(c.kind)
    assert all(k == {"positive", "negative"} for k in kinds.values()), kinds


def test_gain_split_controls_are_exact(scenes):
    v = _gain(measures.softmax_gain_split, scenes)
    assert np.allclose(v["gain_split.others_lowered"], 0.5) and np.allclose(v["gain_split.target_raised"], -0.5)
