"""The scene GAN family's instrument controls (benchmark.families.scene_gan.controls): the planted
scenes go through the claims' own probe chain with the answers built in, and one mutation per
instrument (dissection IoU, unit removal, door insertion, the single-unit classifier) fails its
control, turns the claims relying on it inconclusive, and fails the gate against the unmutated
baseline. An exact reader (OracleSegmenter) keeps these tests free of trained networks."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from benchmark.claims.registry import load_claim
from benchmark.controls import decide
from benchmark.data import scenes
from benchmark.families.scene_gan import controls as ctl, probes
from benchmark.families.scene_gan.params import ProbeParams
from benchmark.models import scene_gan as models
from benchmark.probes import dissection, streaming
from tests.conftest import REPO
from tests.mutation import gate, mutant, verdicts_with_control

P = ProbeParams(layer=1, quantile=0.99, iou_cutoff=0.04, paper_k=20, paper_width=512, quality_samples=10,
                dissect_samples=10, removal_samples=10, insertion_samples=10, insertion_cells=2, insertion_min_pixels=4,
                classifier_concept="window", classifier_min_pixels=8, classifier_calibration_samples=10,
                classifier_test_samples=10, latent_seed=0)
CLAIMS = {"bau2020.tree-units-remove-trees": "bau2020-tree-units-remove-trees.yaml",
          "bau2020.door-units-context": "bau2020-door-units-context.yaml",
          "bau2020.window-unit-classifies": "bau2020-window-unit-classifies.yaml"}


@pytest.fixture(scope="module")
def masks() -> np.ndarray:
    return scenes.generate(80, np.random.default_rng(3)).masks


@pytest.fixture(scope="module")
def planted(masks) -> dict[str, float]:
    torch.set_num_threads(1)
    return ctl.planted_values(masks, ctl.OracleSegmenter(), 5, P, 8, paint=False)


class BlockScenes(ctl.PlantedScenes):
    """Planted scenes behind an 8x8 layer (4x4-pixel cells, as the generators' dissected layer), any
    latent mapped to a scene: a stand-in for a trained generator in `generator_values`."""

    def features(self, z, layer):
        idx = (z[:, 0].abs() * 1e6).long() % len(self.masks)
        return F.avg_pool2d(super().features(idx.float()[:, None], layer), 4)

    def resume(self, h, layer):
        return super().resume(F.interpolate(h, scale_factor=4, mode="nearest"), layer)


def test_planted_scenes_give_the_built_in_answers(planted):
    assert planted["removal.planted_tree_units"] > 0.99          # both tree units found and zeroed: every tree gone
    assert planted["insertion.planted_context_gate"] > 0.5        # doors only next to walls: a context effect
    assert abs(planted["insertion.no_context_gate"]) < 0.05       # doors anywhere, read exactly: none
    assert planted["window_unit.planted"] > 0.75                  # the window mask's peak tells windows apart


def test_claims_name_their_instruments_controls():
    for cid, name in CLAIMS.items():
        assert load_claim(REPO / "claims" / name).controls == ctl.claim_controls(cid)


def _generator_values(masks) -> dict:
    return ctl.generator_values(BlockScenes(masks, 1, paint=False), ctl.OracleSegmenter(), P, 60, 0,
                                np.random.default_rng(0))


def _mutated(monkeypatch, instrument: str, masks) -> tuple[str, float]:
    """Break one instrument; return the control it must fail and that control's value."""
    if instrument == "gan_iou":  # IoU counts (union - inter) / union: the null looks like a perfect match
        monkeypatch.setattr(dissection, "RunningIoU", mutant(streaming, "RunningIoU", "inter / np.where(union > 0",
                                                             "(union - inter) / np.where(union > 0"))
        return "gan_iou.permuted_masks", _generator_values(masks)["gan_iou.permuted_masks"]
    if instrument == "removal":  # zeroing units leaves them on
        monkeypatch.setattr(probes, "zero_units", mutant(models, "zero_units", "return h * keep.to(h.dtype)", "return h"))
        cid = "removal.planted_tree_units"
    elif instrument == "insertion":  # forcing units on writes nothing
        monkeypatch.setattr(probes, "force_units", mutant(models, "force_units", "out[:, units] = block", "pass"))
        cid = "insertion.planted_context_gate"
    else:  # the thresholded unit predicts the opposite class
        monkeypatch.setitem(sys.modules, f"{probes.__name__}__mutant", probes)  # its dataclasses look their module up
        monkeypatch.setattr(ctl, "balanced_accuracy_evidence", mutant(probes, "balanced_accuracy_evidence",
                                                                      "pred = peaks >= threshold", "pred = peaks < threshold"))
        cid = "window_unit.planted"
    return cid, ctl.planted_values(masks, ctl.OracleSegmenter(), 5, P, 8, paint=False)[cid]


@pytest.mark.parametrize("instrument", ["gan_iou", "removal", "insertion", "window_unit"])
def test_a_broken_instrument_fails_its_control_and_its_claims_turn_inconclusive(instrument, masks, planted, tmp_path,
                                                                                 monkeypatch):
    torch.set_num_threads(1)
    if instrument == "gan_iou":
        good_value = _generator_values(masks)["gan_iou.permuted_masks"]
    cid, value = _mutated(monkeypatch, instrument, masks)
    if instrument != "gan_iou":
        good_value = planted[cid]
    good, bad = decide(ctl.CONTROLS[cid], [good_value]), decide(ctl.CONTROLS[cid], [value])
    assert good.passed and not bad.passed, (cid, good_value, value)

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    passing = [decide(c, [c.threshold + (1 if c.rule == "at_least" else -1) if c.rule != "within" else 0.0])
               for k, c in ctl.CONTROLS.items() if k != cid]
    relying = [c for c in CLAIMS if f"scene_gan/{cid}" in ctl.claim_controls(c)]
    assert relying
    for claim_id in relying:
        spec, base, cur = verdicts_with_control("scene_gan", REPO / "claims" / CLAIMS[claim_id], passing, good, bad, tmp_path)
        assert base.verdict.value == "reproduced", base.reason
        assert cur.verdict.value == "inconclusive" and cur.reason_code.value == "control_failed"
        assert f"scene_gan/{cid}" in cur.reason
        where = tmp_path / claim_id.replace(".", "_")
        where.mkdir()
        ok, lines = gate(where, spec, base, cur, spec.scales["embedded"].replicates)
        assert not ok, lines
