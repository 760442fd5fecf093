"""The classifier-dissection family's instrument controls (benchmark.families.classifier_dissection.
controls): the claims name exactly the declared controls, a planted detector goes through the
claims' own dissection and is found, and a broken IoU (one that ignores the concept mask) fails
that control, turns the claims relying on it inconclusive naming it, and fails the gate against
the unmutated baseline. A random-init classifier on a few generated scenes keeps this test free
of trained networks (the planted units are the scenes' own masks)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.claims.registry import load_claim
from benchmark.controls import decide
from benchmark.data import scene_classes
from benchmark.experiments.scene_classifier import ClassifierConfig, random_classifier
from benchmark.families.classifier_dissection import controls as ctl
from benchmark.families.classifier_dissection import embedded as E
from benchmark.families.classifier_dissection.params import DissectionParams
from benchmark.probes import dissection, streaming
from tests.conftest import REPO
from tests.mutation import gate, mutant, verdicts_with_control

P = DissectionParams(quantiles=[0.01, 0.005], iou_cutoff=0.04, null_permutations=2, null_fpr=0.01, dissect_samples=60, importance_samples=60, paper_width=512,
                     paper_ks=[4, 20], random_draws=2, attack_samples=5, attack_steps=2, attack_eps=0.25,
                     attack_step_size=0.03, rotation_powers=[0.0, 1.0], rotation_seed=3000, probe_seed=2000)
CLAIMS = {"bau2020.detectors-emerge": "bau2020-detectors-emerge.yaml",
          "bau2020.deepest-layer-most-objects": "bau2020-deepest-layer-most-objects.yaml",
          "bau2020.class-depends-on-few-units": "bau2020-class-depends-on-few-units.yaml",
          "bau2020.interpretable-units-matter-to-many-classes": "bau2020-interpretable-units-matter-to-many-classes.yaml",
          "bau2020.attacks-act-through-important-units": "bau2020-attacks-act-through-important-units.yaml",
          "bau2017.units-beat-random-directions": "bau2017-units-beat-random-directions.yaml",
          "szegedy2013.units-no-better-than-random-directions": "szegedy2013-units-no-better-than-random-directions.yaml"}
CID = "iou.planted_detector"


@pytest.fixture(scope="module")
def scenes():
    s = scene_classes.generate(60, np.random.default_rng(5))
    torch.set_num_threads(1)
    model = random_classifier(ClassifierConfig((16, 32, 64, 64), 1, 0.003, 32), len(scene_classes.CLASSES), 1)
    return model, E.images(s.images), s.masks


def test_the_claims_name_exactly_the_declared_controls():
    named = {c for name in CLAIMS.values() for c in load_claim(REPO / "claims" / name).controls}
    assert named == {f"classifier_dissection/{c}" for c in ctl.DECLARED}


def _found(scenes) -> float:
    model, x, masks = scenes
    return ctl.planted_and_permuted(model, x, masks, P, np.random.default_rng(0))[0]


# the IoU ignores the concept mask: the intersection is what a unit independent of the mask would
# have (dense), or is counted at pixels other than the unit's (sparse): in either way RunningIoU counts
BROKEN_IOU = {
    "dense": (("self.inter += np.rint(uf @ cf.T)", "self.inter += np.rint(uf.sum(1)[:, None] * cf.mean(1)[None, :])"),
              ("SPARSE_SHARE = 0.02", "SPARSE_SHARE = -1.0")),
    "sparse": (("unit, image, pixel = (on // pix) % units, on // (units * pix), on % pix",  # concepts looked up elsewhere
                "unit, image, pixel = (on // pix) % units, on // (units * pix), (on * 7919 + 13) % pix"),
               ("SPARSE_SHARE = 0.02", "SPARSE_SHARE = 1.0")),
}


@pytest.mark.parametrize("path", sorted(BROKEN_IOU))
def test_a_broken_iou_fails_the_planted_detector_and_its_claims_turn_inconclusive(scenes, tmp_path, monkeypatch, path):
    good_value = _found(scenes)
    (old, new), route = BROKEN_IOU[path]
    monkeypatch.setattr(dissection, "RunningIoU", mutant(streaming, "RunningIoU", old, new, route))
    bad_value = _found(scenes)
    good, bad = decide(ctl.DECLARED[CID], [good_value]), decide(ctl.DECLARED[CID], [bad_value])
    assert good.passed and not bad.passed, (good_value, bad_value)

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    passing = [decide(c, [c.threshold + 1 if c.rule == "at_least" else (c.threshold - 1 if c.rule == "at_most" else 0.0)])
               for k, c in ctl.DECLARED.items() if k != CID]
    relying = [c for c, name in CLAIMS.items() if f"classifier_dissection/{CID}" in load_claim(REPO / "claims" / name).controls]
    assert len(relying) == 5
    for claim_id in relying:
        spec, base, cur = verdicts_with_control("classifier_dissection", REPO / "claims" / CLAIMS[claim_id], passing, good, bad, tmp_path)
        assert base.verdict.value == "reproduced", (claim_id, base.reason)
        assert cur.verdict.value == "inconclusive" and cur.reason_code.value == "control_failed", (claim_id, cur.reason)
        assert f"classifier_dissection/{CID}" in cur.reason
        where = tmp_path / claim_id.replace(".", "_")
        where.mkdir()
        ok, lines = gate(where, spec, base, cur, spec.scales["embedded"].replicates)
        assert not ok, lines
