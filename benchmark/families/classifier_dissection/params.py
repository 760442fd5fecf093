"""params.yaml `classifier_dissection:` (the probe of bau2020 B1-B3, B7 and bau2017/szegedy2013 O3),
validated; one block per scale (the classifiers it probes: benchmark.experiments.scene_classifier_config).

The paper block dissects the Places365 VGG16s on Broden (benchmark.families.classifier_dissection.paper);
its folders are named under `paper_data:`, and a missing one is an error naming the key.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from benchmark import replicates
from benchmark.config import Distinct, _Strict, section
from benchmark.experiments.scene_classifier_config import _check_paper


def _powers(v: list[float]) -> list[float]:
    if 0.0 not in v or 1.0 not in v or any(not 0 <= a <= 1 for a in v):
        raise ValueError("rotation powers lie in [0, 1] and include 0 and 1")
    return sorted(v)


class DissectionParams(_Strict):
    quantiles: list[float] = Field(min_length=1, description="top-quantile thresholds; the first decides (bau2020 0.01, bau2017 0.005)")
    iou_cutoff: float = Field(gt=0, lt=1, description="a unit detects a concept above this IoU (0.04) and above its layer's null")
    null_permutations: int = Field(ge=1, description=(
        "permutations of the concept masks across images each dissected layer is also counted against: the layer's null"))
    null_fpr: float = Field(gt=0, lt=0.5, description=(
        "declared false-positive rate: a unit detects only above the (1 - null_fpr) quantile of its layer's null best IoUs"))
    dissect_samples: int = Field(ge=10, description="held-out scenes the dissection runs on")
    importance_samples: int = Field(ge=10, description="training scenes the unit importance is ranked on (B1, B2, B7)")
    paper_width: int = Field(ge=1, description="width of the paper's layer (512): k scales as ceil(paper_k * width / paper_width)")
    paper_ks: list[int] = Field(min_length=1, description="units removed in the paper (4, 20) and top-k for B2/B7 (4)")
    random_draws: int = Field(ge=1, description="random k-unit sets per class (B1 control)")
    attack_samples: int = Field(ge=1, description="held-out source images attacked per network (B7)")
    attack_steps: int = Field(ge=1)
    attack_eps: float = Field(gt=0, description="L-inf radius in the [-1, 1] input range")
    attack_step_size: float = Field(gt=0)
    rotation_powers: list[float] = Field(min_length=2, description="a in Q^a (O3); must include 0 and 1")
    rotation_seed: int = Field(description="Q of network s is drawn from rotation_seed + s")
    probe_seed: int = Field(description="random unit sets and attack targets of network s use probe_seed + s")

    @field_validator("quantiles")
    @classmethod
    def _q(cls, v):
        if any(not 0 < q < 0.5 for q in v):
            raise ValueError("quantiles are top fractions in (0, 0.5), e.g. 0.01")
        return v

    @field_validator("rotation_powers")
    @classmethod
    def _a(cls, v):
        return _powers(v)


class BrodenParams(_Strict):
    categories: list[Literal["object", "part", "material", "color"]] = Field(
        min_length=1, description="Broden pixel categories dissected against (bau2017: object, part, material, color)")
    layers: list[str] = Field(min_length=1, description="VGG16 conv layers dissected (conv1_1 .. conv5_3); the last is the probed layer")
    batch: int = Field(ge=1, description="Broden images per dissection batch (memory: batch x labels x seg pixels)")


class DissectionPaper(_Strict):
    probe: DissectionParams
    broden: BrodenParams



class ReplicateParams(_Strict):
    """Extra classifiers, trained like the shared ones (params `scene_classifier`), probed only for
    the claims sized to need more networks than the shared 8: B1 (class removal) on every one, O3
    (rotation a = 0 -> 1) on `rotation_networks` of them from position `rotation_offset` on
    (bau2020.class-depends-on-few-units and the O3 pair; their claim files give the sizing: O3 v4
    reads networks that no O3 verdict read before)."""

    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one extra classifier per seed, before seed_offset")
    rotation_networks: int = Field(ge=1, description="O3 reads n of `seeds`, from position rotation_offset on")
    rotation_offset: int = Field(default=0, ge=0, description="the first of `seeds` (by position) that O3 reads")
    rotation_powers: list[float] = Field(min_length=2, description="a in Q^a on these networks; must include 0 and 1")

    @field_validator("rotation_powers")
    @classmethod
    def _a(cls, v):
        return _powers(v)

    @model_validator(mode="after")
    def _enough(self):
        if self.rotation_offset + self.rotation_networks > len(self.seeds):
            raise ValueError(f"rotation_offset {self.rotation_offset} + rotation_networks {self.rotation_networks} > "
                             f"{len(self.seeds)} seeds")
        return self


class DissectionEmbedded(_Strict):
    probe: DissectionParams
    replicates: ReplicateParams | None = None



def load_replicate_params(params: dict) -> ReplicateParams | None:
    """The extra classifiers' settings (None where the scale's block has none)."""
    return section(params, "classifier_dissection", DissectionEmbedded).replicates


def replicate_seeds(params: dict, r: ReplicateParams) -> list[int]:
    return replicates.draw(params, r.seeds)


def load_dissection_params(params: dict) -> DissectionParams:
    if params["scale"] == "paper":
        return load_dissection_paper(params).probe
    return section(params, "classifier_dissection", DissectionEmbedded).probe


def load_dissection_paper(params: dict) -> DissectionPaper:
    cfg = section(params, "classifier_dissection", DissectionPaper)
    _check_paper(params, "places365", "classifier_dissection", "the Places365-Standard folder")
    _check_paper(params, "broden", "classifier_dissection", "Broden's labelled pixels")
    return cfg
