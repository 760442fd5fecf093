"""params.yaml `word_information:` validated (one block per scale).

The paper block names local files (the SST-2 TSV directory and a HuggingFace-format model
directory) read by benchmark.data.sst2 and benchmark.models.hf_encoder; the embedded pipeline
never reads it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from benchmark.config import _Strict, section, seed_offset
from benchmark.errors import ParamsError

MODEL_NAMES = Literal["transformer_pretrained", "transformer_scratch", "lstm", "cnn"]


class TrainParams(_Strict):
    width: int = Field(ge=4)
    layers: int = Field(ge=4, description="the measure reads every layer; guan2019 compares >= 4")
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)
    pretrain_epochs: int = Field(ge=1, description="masked-LM epochs over the unlabeled corpus (pretrained transformer)")
    mask_prob: float = Field(gt=0, lt=1)


class ProbeParams(_Strict):
    sentences: int = Field(ge=4, description="test sentences probed per network (the same ones for every network)")
    noise_scale: float = Field(gt=0, description="largest per-word noise sigma (guan2019: 0.5)")
    lam: float = Field(gt=0, description="weight of the entropy term (guan2019: 0.1)")
    lr: float = Field(gt=0, description="Adam step on the noise parameters (guan2019: 0.01)")
    iterations: int = Field(ge=1, description="guan2019: 5000; fewer here, converged in the pilot")
    projections: int = Field(ge=1, description="Gaussian projections estimating the gradient norms")
    seed: int = Field(description="noise draws; shifted by seed_offset")


class WordInformationEmbedded(_Strict):
    dataset: Literal["sentiment"]
    models: list[MODEL_NAMES] = Field(min_length=1)
    seeds: list[int] = Field(min_length=1, description="one network per model and seed (before seed_offset)")
    train: TrainParams
    probe: ProbeParams

    @field_validator("seeds", "models")
    @classmethod
    def _unique(cls, v):
        if len(set(v)) != len(v):
            raise ValueError("values must be unique")
        return v


class WordInformationPaper(_Strict):
    dataset: Literal["sst2"]
    sst2_dir: str
    model_dir: str
    probe: ProbeParams


def load_word_params(params: dict) -> WordInformationEmbedded:
    if params["scale"] == "paper":
        paper = section(params, "word_information", WordInformationPaper)
        raise ParamsError(params.get("_path", "params.yaml"), "word_information.paper",
                          f"the loaders for {paper.sst2_dir} (SST-2 TSV) and {paper.model_dir} (HuggingFace model) exist "
                          "(benchmark.data.sst2, benchmark.models.hf_encoder), but G1-G3 need word-level relevance "
                          "labels that SST-2 lacks; the paper-scale stages are not wired yet")
    return section(params, "word_information", WordInformationEmbedded)


def network_seeds(params: dict, cfg: WordInformationEmbedded) -> list[int]:
    return [s + seed_offset(params) for s in cfg.seeds]
