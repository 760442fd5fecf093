"""params.yaml `gan_dissection:` validated (one block per scale, like `experiments:`), and the
seeds the family draws under the draw's offset (benchmark.replicates).

The paper block probes user-supplied files named in `paper_data:` (gan_weights: a Progressive GAN
file or a folder of them; segmenter; lsun_church), read by the paper adapter
(benchmark.families.scene_gan.paper); nothing is trained at paper scale.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from benchmark import replicates
from benchmark.config import Distinct, _Strict, section
from benchmark.errors import ParamsError


class SegmenterParams(_Strict):
    width: int = Field(ge=4)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    seed: int


class GanParams(_Strict):
    nz: int = Field(ge=2)
    width: int = Field(ge=4)
    iterations: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    lr: float = Field(gt=0)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one generator per seed (before seed_offset)")


class ProbeParams(_Strict):
    layer: int = Field(ge=1, description="generator block whose units are dissected (embedded: 1-3; 8x8 = 2)")
    quantile: float = Field(gt=0.5, lt=1, description="top-quantile threshold of unit maps (bau2020: 0.99)")
    iou_cutoff: float = Field(gt=0, lt=1, description="unit detects a concept above this IoU (0.04)")
    paper_k: int = Field(ge=1, description="units edited in the paper (20)")
    paper_width: int = Field(ge=1, description="width of the paper's layer (512); k = ceil(paper_k * width / paper_width)")
    quality_samples: int = Field(ge=10)
    dissect_samples: int = Field(ge=10)
    removal_samples: int = Field(ge=10)
    insertion_samples: int = Field(ge=10)
    insertion_cells: int = Field(ge=1, description="side of the forced block, in layer cells")
    insertion_min_pixels: int = Field(ge=1, description="new door pixels that count as 'door added'")
    classifier_concept: str
    classifier_min_pixels: int = Field(ge=1, description="concept pixels that make an image positive")
    classifier_calibration_samples: int = Field(ge=10)
    classifier_test_samples: int = Field(ge=10)
    latent_seed: int = Field(description="latents of probe part j use seed latent_seed + j; pilots use other seeds")


class ControlParams(_Strict):
    """The instrument controls (benchmark.families.scene_gan.controls): how many images per trained
    generator, how many disjoint samples of held-out scenes for the planted ones, and their seeds."""
    images: int = Field(ge=20, description="generated images per trained generator (dissections, window unit, random-unit removal)")
    planted_replicates: int = Field(ge=1, description="disjoint samples of held-out scenes, one control value each")
    planted_scenes: int = Field(ge=20, description="scenes per planted sample")
    random_pairs: int = Field(ge=1, description="random pairs in place of the tree units per generator, each on its own slice of the images")
    planted_cells: int = Field(ge=1, description="side of the forced door block on planted scenes, in pixels (their layer is 32x32)")
    seed: int = Field(description="latents and draws of the controls (+ seed_offset); disjoint from the probe's latent seeds")


class GanDissectionEmbedded(_Strict):
    dataset: Literal["scenes"]
    segmenter: SegmenterParams
    gan: GanParams
    probe: ProbeParams
    controls: ControlParams


class GanDissectionPaper(_Strict):
    dataset: Literal["lsun_church"]
    probe: ProbeParams
    controls: ControlParams


def generator_seeds(params: dict, cfg: "GanDissectionEmbedded") -> list[int]:
    """The seeds the generators train with: params' seeds shifted by the top-level seed_offset."""
    return replicates.draw(params, cfg.gan.seeds)


def segmenter_seed(params: dict, cfg: "GanDissectionEmbedded") -> int:
    """The reference segmenter's seed: params' seed shifted by seed_offset, so that a second draw
    redraws the instrument too (feature_vis reads the same segmenter)."""
    return replicates.draw(params, [cfg.segmenter.seed])[0]


def latent_seed(params: dict, probe: ProbeParams) -> int:
    """Base seed of the probe's latents (part j uses latent_seed + j), shifted by seed_offset."""
    return replicates.sample_seed(params, probe.latent_seed)


def load_gan_params(params: dict) -> GanDissectionEmbedded | GanDissectionPaper:
    if params["scale"] == "paper":
        return section(params, "gan_dissection", GanDissectionPaper)
    cfg = section(params, "gan_dissection", GanDissectionEmbedded)
    if cfg.probe.layer > 3:
        raise ParamsError(params.get("_path", "params.yaml"), "gan_dissection.embedded.probe.layer",
                          f"the embedded generator has hidden blocks 1-3, got {cfg.probe.layer}")
    return cfg
