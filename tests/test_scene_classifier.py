"""The shared scene classes and classifiers: recipe, determinism, save/load round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.data import scene_classes as SC
from benchmark.data import scenes as S
from benchmark.experiments.scene_classifier import (ClassifierConfig, load_random_classifiers, load_scene_classifiers,
                                                    random_classifier, random_name, train_classifier, trained_name)
from benchmark.experiments.store import save_models
from benchmark.models.scene_classifier import LAYERS, SceneClassifier

TINY = ClassifierConfig((4, 4, 8, 8), epochs=1, lr=0.01, batch_size=16)


@pytest.fixture(scope="module")
def batch():
    return SC.generate(90, np.random.default_rng(5))


def test_classes_are_balanced_and_their_defining_concepts_occur(batch):
    assert len(SC.CLASSES) >= 8
    assert (np.bincount(batch.classes, minlength=len(SC.CLASSES)) == 90 // len(SC.CLASSES)).all()
    for c, name in enumerate(SC.CLASSES):
        present = np.bincount(batch.masks[batch.classes == c].ravel(), minlength=len(S.CONCEPTS)) > 0
        for concept in SC.CLASS_CONCEPTS[name]:
            assert present[S.CID[concept]], (name, concept)
    # a decisive concept is absent from some other class: snow only in snowy classes
    snowy = {SC.CLASSES.index(n) for n in ("ski_resort", "snowy_mountains")}
    has_snow = (batch.masks == S.CID["snow"]).any(axis=(1, 2))
    assert set(np.unique(batch.classes[has_snow])) <= snowy


def test_pixels_stay_in_their_concepts_colour_box(batch):
    lo = np.array([S.BOXES[c][0] for c in S.CONCEPTS])[batch.masks]
    hi = np.array([S.BOXES[c][1] for c in S.CONCEPTS])[batch.masks]
    assert ((batch.images >= lo) & (batch.images <= hi)).all()


def test_recipe_is_deterministic_and_seed_dependent():
    a, b = SC.generate(18, np.random.default_rng(1)), SC.generate(18, np.random.default_rng(1))
    c = SC.generate(18, np.random.default_rng(2))
    for f in ("images", "masks", "classes"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.images, c.images)


def test_model_shapes_and_resume_agrees_with_forward():
    torch.manual_seed(0)
    m = SceneClassifier(9, (4, 6, 8, 10)).eval()
    x = torch.randn(3, 3, 32, 32)
    sizes = [h.shape for h in m.all_features(x)]
    assert sizes == [(3, 4, 32, 32), (3, 6, 16, 16), (3, 8, 8, 8), (3, 10, 8, 8)]
    for layer in range(1, len(LAYERS) + 1):
        torch.testing.assert_close(m.resume(m.features(x, layer), layer), m(x))


def test_same_seed_same_bytes_and_round_trip(batch, tmp_path):
    a, _ = train_classifier(TINY, batch, len(SC.CLASSES), seed=3)
    b, _ = train_classifier(TINY, batch, len(SC.CLASSES), seed=3)
    c, _ = train_classifier(TINY, batch, len(SC.CLASSES), seed=4)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k])
    assert not torch.equal(a.convs[0].weight, c.convs[0].weight)
    r = random_classifier(TINY, len(SC.CLASSES), seed=3)
    assert not torch.equal(r.convs[0].weight, a.convs[0].weight)
    arch = {"n_classes": len(SC.CLASSES), "channels": list(TINY.channels)}
    path = tmp_path / "m.safetensors"
    save_models(path, {trained_name(3): a.state_dict(), trained_name(4): c.state_dict(), random_name(3): r.state_dict()},
                {trained_name(3): {**arch, "seed": 3, "kind": "trained"}, trained_name(4): {**arch, "seed": 4, "kind": "trained"},
                 random_name(3): {**arch, "seed": 3, "kind": "random"}})
    trained, rand = load_scene_classifiers(path), load_random_classifiers(path)
    assert [s for s, _ in trained] == [3, 4] and [s for s, _ in rand] == [3]
    x = torch.from_numpy(SC.to_tensor_range(batch.images[:5]))
    torch.testing.assert_close(trained[0][1](x), a(x), rtol=0, atol=0)
    torch.testing.assert_close(rand[0][1](x), r(x), rtol=0, atol=0)


def test_paper_scale_names_the_missing_paper_data_path(tmp_path):
    from benchmark.config import load_params
    from benchmark.errors import ParamsError
    from benchmark.experiments.scene_classifier_config import load_classifier_paper
    from benchmark.families.classifier_dissection.params import load_dissection_params

    params = {**load_params(), "scale": "paper", "paper_data": {"places365": str(tmp_path / "missing")}}
    for loader in (load_classifier_paper, load_dissection_params):
        with pytest.raises(ParamsError, match="paper_data.places365"):
            loader(params)
    with pytest.raises(ParamsError, match="paper_data.places365"):
        load_classifier_paper({**params, "paper_data": {}})
    (tmp_path / "places").mkdir()
    with pytest.raises(ParamsError, match="paper_data.broden"):
        load_dissection_params({**params, "paper_data": {"places365": str(tmp_path / "places"), "broden": str(tmp_path / "nope")}})
