"""params.yaml `scene_classifier:` (the scene classifiers shared by the classifier-dissection and
feature-visualization families), validated; one block per scale. The classifier-dissection probe's
own block is benchmark.families.classifier_dissection.params.

The paper block: VGG16 classifiers trained on Places365 (or user checkpoints)
(benchmark.experiments.scene_classifier_paper); their files are named under `paper_data:`, and a
missing folder is an error naming the key (`_check_paper`, shared with the families that read them).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from benchmark import replicates
from benchmark.config import Distinct, _Strict, section
from benchmark.errors import ParamsError


class ClassifierParams(_Strict):
    dataset: Literal["scene_classes"]
    channels: list[int] = Field(min_length=4, max_length=4, description="conv widths (VGG-like, 4 layers)")
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one trained classifier per seed, before seed_offset")
    random_seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one random-init control per seed, before seed_offset")


class ClassifierPaper(_Strict):
    dataset: Literal["places365"]
    arch: Literal["vgg16", "vgg16_narrow"] = Field(description=(
        "bau2017/bau2020's Places365 VGG16 (benchmark.models.paper_zoo); vgg16_narrow: the same at 1/8 width, "
        "for fixture runs"))
    image_size: int = Field(ge=32, description="Places365 images resized to this (224 in the papers)")
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)
    weight_decay: float = Field(ge=0)
    train_images: int | None = Field(default=None, ge=1, description="first N of the training list (null: all)")
    val_images: int | None = Field(default=None, ge=1, description="first N of the validation list (null: all)")
    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one trained VGG16 per seed, before seed_offset")
    random_seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one random-init control per seed, before seed_offset")
    checkpoints: list[str] = Field(default_factory=list, description=(
        "user VGG16 weights (paths under paper_data.root), one replicate each, used instead of training "
        "when not empty; each gets the seed of its position in `seeds`"))


def classifier_seeds(params: dict, cfg: ClassifierParams) -> list[int]:
    return replicates.draw(params, cfg.seeds)


def random_seeds(params: dict, cfg: ClassifierParams) -> list[int]:
    return replicates.draw(params, cfg.random_seeds)


def _paper_error(params: dict, block: str, field: str, what: str) -> ParamsError:
    return ParamsError(params.get("_path", "params.yaml"), f"{block}.paper.{field}", what)


def _check_paper(params: dict, key: str, block: str, what: str) -> None:
    from benchmark.data.registry import paper_path  # the one resolver of `paper_data` (root + relative)

    if not (params.get("paper_data") or {}).get(key):
        raise ParamsError(params.get("_path", "params.yaml"), f"paper_data.{key}",
                          f"scale 'paper' for `{block}` needs {what}; set paper_data.{key}")
    p = paper_path(key, params)
    if not p.is_dir():
        raise ParamsError(params.get("_path", "params.yaml"), f"paper_data.{key}", f"{p} not found ({what})")


def load_classifier_params(params: dict) -> ClassifierParams:
    """The embedded block (the paper block: load_classifier_paper)."""
    if params["scale"] == "paper":
        raise _paper_error(params, "scene_classifier", "dataset", "scale 'paper' reads load_classifier_paper")
    return section(params, "scene_classifier", ClassifierParams)


def load_classifier_paper(params: dict) -> ClassifierPaper:
    cfg = section(params, "scene_classifier", ClassifierPaper)
    _check_paper(params, "places365", "scene_classifier", "the Places365-Standard folder")
    return cfg


