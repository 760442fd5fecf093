"""bau2020 B4-B6 at paper scale on fixture files in the real formats: user Progressive-GAN weights
(a file or a folder of replicates), a TorchScript segmenter + concepts.json, LSUN church images."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from benchmark.errors import DataError
from benchmark.paper import fixtures as fx

REPO = Path(__file__).resolve().parents[1]
TABLES = ("quality", "dissection", "tree_removal", "door_insertion", "window_unit")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("paper")
    fx.lsun_church(root / "lsun_church_outdoor", np.random.default_rng(0))
    fx.segmenter(root / "segmenter")
    fx.gan_weights(root / "proggan_churchoutdoor.safetensors", 0)
    for i in range(2):
        fx.gan_weights(root / "reps" / f"generator_{i}.safetensors", i)
    (root / "FIXTURE.json").write_text("{}")
    return root


def _project(tmp_path: Path, files: Path, monkeypatch, gan_weights: str) -> Path:
    root = tmp_path / "proj"
    root.mkdir(parents=True)
    shutil.copytree(REPO / "claims", root / "claims")
    shutil.copy(REPO / "dvc.yaml", root / "dvc.yaml")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params.update(scale="paper", workers=1)
    params["paper_data"].update(root=str(files), gan_weights=gan_weights)
    params["gan_dissection"]["paper"]["probe"].update(
        quality_samples=10, dissect_samples=10, removal_samples=10, insertion_samples=10,
        classifier_calibration_samples=10, classifier_test_samples=10, insertion_min_pixels=4, classifier_min_pixels=8)
    params["gan_dissection"]["paper"]["controls"].update(images=20, random_pairs=2, planted_replicates=1, planted_scenes=40)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    return root


def _run_family(root: Path) -> dict[str, bytes]:
    from benchmark.families.scene_gan import steps

    assert steps.segmenter([]) == 0 and steps.gan([]) == 0
    assert steps.probe([]) == 0
    return {t: (root / "evidence" / "scene_gan" / f"{t}.csv").read_bytes() for t in TABLES}


def test_generators_from_a_folder_are_probed_as_replicates_deterministically(tmp_path, files, monkeypatch):
    root = _project(tmp_path, files, monkeypatch, "reps")
    first = _run_family(root)
    man = json.loads(pd.read_csv(root / "evidence" / "scene_gan" / "training.csv").to_json(orient="records"))
    assert [m["file"] for m in man] == ["generator_0.safetensors", "generator_1.safetensors"]
    for t in ("tree_removal", "door_insertion", "window_unit"):
        frame = pd.read_csv(root / "evidence" / "scene_gan" / f"{t}.csv")
        assert sorted(frame.generator.unique()) == [0, 1]
        assert frame.filter(like="_unit_iou").notna().all().all()
    concepts = set(pd.read_csv(root / "evidence" / "scene_gan" / "dissection.csv").concept)
    assert concepts == set(fx.SEGMENTER_CONCEPTS)  # the user segmenter's vocabulary, not the embedded one
    assert "FIXTURE DATA" in (root / "evidence" / "scene_gan" / "section_gan.md").read_text()
    assert _run_family(root) == first  # same files, same bytes
    # the controls at paper scale: the user's generators and segmenter; planted scenes read exactly
    from benchmark.data import scenes
    from benchmark.families.scene_gan import controls, steps

    scenes.write(root / "data" / "scenes", num_train=10, num_test=40)
    assert steps.controls([]) == 0
    table = pd.read_csv(root / "evidence" / "controls" / "scene_gan.csv").set_index("control")
    assert list(table.index) == list(controls.CONTROLS) and (table.n == [2, 2, 1, 2, 2, 1, 1, 1, 2]).all()
    assert table.loc["removal.planted_tree_units", "passed"] == 1 and table.loc["insertion.no_context_gate", "passed"] == 1


def test_one_generator_reads_inconclusive_one_replicate(tmp_path, files, monkeypatch, controls_pass):
    from benchmark.stages import test_claim

    root = _project(tmp_path, files, monkeypatch, "proggan_churchoutdoor.safetensors")
    _run_family(root)
    claim = root / "claims" / "bau2020-tree-units-remove-trees.yaml"
    spec = yaml.safe_load(claim.read_text())
    # let the instrument checks pass (its controls: the controls_pass fixture) so the replicate rule decides
    for pre in spec["preconditions"]:
        pre["threshold"] = -1.0
    claim.write_text(yaml.safe_dump(spec, sort_keys=False))
    monkeypatch.chdir(root)
    test_claim.main([str(claim)])
    record = json.loads((root / "verdicts" / "bau2020.tree-units-remove-trees.json").read_text())
    assert record["result"]["verdict"] == "inconclusive"
    assert "1 replicate" in record["result"]["reason"] and "FIXTURE DATA" in record["result"]["reason"]


def test_bad_inputs_fail_naming_the_file(tmp_path, files, monkeypatch, capsys):
    from benchmark.families.scene_gan import paper, steps

    root = _project(tmp_path, files, monkeypatch, "missing.safetensors")
    with pytest.raises(DataError, match="missing.safetensors"):
        paper.record_generators(yaml.safe_load((root / "params.yaml").read_text()), None)
    seg = tmp_path / "seg"
    shutil.copytree(files / "segmenter", seg)
    (seg / "concepts.json").write_text(json.dumps({"concepts": [c if c != "door" else "gate" for c in fx.SEGMENTER_CONCEPTS]}))
    from benchmark.families.scene_gan.paper import load_segmenter

    with pytest.raises(DataError, match=r"concepts.json: concepts \['door'\] missing"):
        load_segmenter({"paper_data": {"root": str(tmp_path), "segmenter": "seg"}}, ("tree", "door"))
    # weights replaced in place after the manifest was written: the probe refuses them
    reps = tmp_path / "reps"
    shutil.copytree(files / "reps", reps)
    _project(tmp_path / "b", files, monkeypatch, str(reps))
    steps.segmenter([])
    steps.gan([])
    fx.gan_weights(reps / "generator_1.safetensors", 7)
    assert steps.probe([]) == 2  # a DataError: one line on stderr, exit 2
    assert "generator_1.safetensors: missing or changed" in capsys.readouterr().err


def test_architecture_is_read_off_the_file_and_the_segmenter_pickles(files):
    from benchmark.models.paper_gan import architecture, load_generator
    from benchmark.models.paper_segmenter import load_segmenter

    arch = architecture(files / "proggan_churchoutdoor.safetensors")
    assert arch == {"resolution": 32, "nz": 16, "channels": [32] * 8}
    g = load_generator(files / "proggan_churchoutdoor.safetensors")
    z = torch.randn(2, 16)
    assert g(z).shape == (2, 3, 32, 32) and g.features(z, 4).shape == (2, 32, 8, 8)
    seg = load_segmenter(files / "segmenter")
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    again = pickle.loads(pickle.dumps(seg))
    assert torch.equal(again.labels(x), seg.labels(x)) and again.validation_iou["tree"] == 0.5
    assert len(seg.labels(torch.rand(4, 3, 16, 16) * 2 - 1).unique()) > 2  # the fixture labels several concepts

