"""params.yaml `feature_vis:` validated (one block per scale).

The networks are the scene classifiers of stage train_scene_classifier (their seeds are that
stage's); this section fixes only how they are visualized. Seeds of the initial images and of
the transform draws are `init_seed + seed_offset`, mixed with the network seed, class/unit and
start (benchmark.families.feature_vis.optimization.seed_for), so a second draw (`seed_offset`) gets fresh
images on fresh networks.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from benchmark import replicates
from benchmark.config import _Strict, section
from benchmark.errors import ParamsError


class TransformParams(_Strict):
    translate: float = Field(ge=0, description="pixels, uniform in [-t, t] on both axes")
    scale: tuple[float, float]
    rotate: float = Field(ge=0, description="degrees, uniform in [-r, r]")


class FeatureVisParams(_Strict):
    steps: int = Field(ge=1, description="Adam steps per visualization (olah2017: 2560)")
    lr: float = Field(gt=0, description="Adam learning rate (olah2017: 0.05)")
    starts: int = Field(ge=1, description="initial images per (network, class) for O1/O4")
    classes: list[str] = Field(min_length=2, description="classes visualized (names in scene_classes.CLASSES)")
    unit_layer: int = Field(ge=1, description="conv layer whose channels O2 visualizes")
    units: int = Field(ge=1, description="channels per network for O2: the most active on real scenes")
    gram_layer: int = Field(ge=1, description="lower conv layer of the diversity penalty's Gram matrices")
    diversity_images: int = Field(ge=2, description="images per unit in a diversity batch (N)")
    diversity_weight: float = Field(gt=0, description="penalty weight in units of the channel's top activation on real scenes")
    transforms: TransformParams
    real_per_class: int = Field(ge=5, description="held-out real scenes per class: the spectra's reference")
    unit_reference_samples: int = Field(ge=10, description="held-out scenes that rank channels and set their activation scale")
    init_seed: int
    snapshots: list[int] = Field(default_factory=list, description="extra steps recorded (convergence pilots only)")

    @model_validator(mode="after")
    def _layers(self):
        if self.gram_layer >= self.unit_layer:
            raise ValueError("gram_layer must lie below unit_layer (the penalty acts on a lower layer)")
        if any(s >= self.steps or s < 1 for s in self.snapshots):
            raise ValueError("snapshots must lie in 1 .. steps - 1")
        return self


class FeatureVisPaper(FeatureVisParams):
    """Paper scale: the Places365 VGG16s of train_scene_classifier (layers 1-13 = conv1_1 .. conv5_3),
    classes by Places365 name, each with the concepts of the user's segmenter that define it."""
    class_concepts: dict[str, list[str]] = Field(description="class name -> segmenter concepts (concepts.json names) that define it")

    @model_validator(mode="after")
    def _covered(self):
        missing = [c for c in self.classes if not self.class_concepts.get(c)]
        if missing:
            raise ValueError(f"class_concepts must name the concepts of every visualized class; missing {missing}")
        return self


def load_feature_vis_params(params: dict) -> FeatureVisParams:
    if params["scale"] == "paper":
        from benchmark.experiments.scene_classifier_config import _check_paper

        cfg = section(params, "feature_vis", FeatureVisPaper)
        _check_paper(params, "places365", "feature_vis", "the Places365-Standard folder (colour statistics, real scenes)")
        _check_paper(params, "segmenter", "feature_vis", "the segmenter that scores the visualizations")
        return cfg
    cfg = section(params, "feature_vis", FeatureVisParams)
    from benchmark.data.scene_classes import CLASSES
    bad = [c for c in cfg.classes if c not in CLASSES]
    if bad:
        raise ParamsError(params.get("_path", "params.yaml"), "feature_vis.embedded.classes",
                          f"unknown classes {bad}; known: {list(CLASSES)}")
    return cfg


def base_seed(params: dict, cfg: FeatureVisParams) -> int:
    """The seed every image of this draw derives from (the draw's offset applied once)."""
    return replicates.sample_seed(params, cfg.init_seed)
