"""params.yaml `word_information:` validated (one block per scale).

The paper block (BERT, LSTM and CNN on SST-2, word relevance from the Stanford Sentiment
Treebank's phrase sentiments) reads the local files that params' `paper_data` names (sst2, sst,
bert) through the family's sst2 module and benchmark.models.hf_encoder; the embedded pipeline
never reads it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from benchmark import replicates
from benchmark.config import Distinct, _Strict, section
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
    noise_scale: float = Field(gt=0, description="largest per-word noise sigma, or (relative_scale) its multiple of "
                                                 "the embedding table's SD (guan2019's code: 10 x SD; 0.5 for BERT)")
    relative_scale: bool = Field(description="noise_scale x the SD of the network's word-embedding table")
    lam: float = Field(gt=0, description="weight of the entropy term (guan2019: 0.1)")
    lr: float = Field(gt=0, description="Adam step on the noise parameters (guan2019: 0.01)")
    iterations: int = Field(ge=1, description="guan2019: 5000")
    init: Literal["zeros", "normal"] = Field(description="rho at the start (guan2019's code: normal)")
    keep: Literal["last", "best"] = Field(description="read-out state (guan2019's code: best, the least loss)")
    projections: int = Field(ge=1, description="Gaussian projections estimating the gradient norms")
    seed: int = Field(description="noise draws; shifted by seed_offset")

    def perturbation(self):
        """The measure's settings (benchmark.families.word_information.measure.PerturbationConfig)."""
        from benchmark.families.word_information.measure import PerturbationConfig

        return PerturbationConfig(self.noise_scale, self.lam, self.lr, self.iterations, self.projections,
                                  self.relative_scale, self.init, self.keep)


class ControlParams(_Strict):
    """The instrument controls (benchmark.families.word_information.controls): which networks and
    sentences they are built from, and the seed of their planted weights and permutations."""
    networks: int = Field(ge=2, description="the first seeds of each of the paper's models (>= 2: an interval needs spread)")
    sentences: int = Field(ge=4, description="the first probed sentences")
    seed: int = Field(description="planted weights and permutations; shifted by seed_offset")


class WordInformationEmbedded(_Strict):
    dataset: Literal["sentiment"]
    models: Annotated[list[MODEL_NAMES], Distinct] = Field(min_length=1)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one network per model and seed (before seed_offset)")
    train: TrainParams
    probe: ProbeParams
    controls: ControlParams


class RelevanceBand(_Strict):
    """A word is task-relevant when its own SST sentiment value lies outside (low, high]."""
    low: float = Field(gt=0, lt=1)
    high: float = Field(gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self):
        if self.low >= self.high:
            raise ValueError(f"low {self.low} must be below high {self.high}")
        return self


class FinetuneParams(_Strict):
    """BERT fine-tuning on SST-2 (one network per seed: classifier-head init and data order)."""
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)
    max_len: int = Field(ge=8, description="word pieces per sentence, [CLS] and [SEP] included")


class PaperTrainParams(_Strict):
    """The LSTM and CNN comparison models, trained on SST-2 by seed (randomly initialized embeddings)."""
    width: int = Field(ge=4)
    layers: int = Field(ge=4, description="the measure reads every layer; guan2019 compares >= 4")
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)


class WordInformationPaper(_Strict):
    dataset: Literal["sst2"]
    models: Annotated[list[Literal["transformer_pretrained", "lstm", "cnn"]], Distinct] = Field(min_length=1)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1, description="one network per model and seed (before seed_offset)")
    bert_dirs: Annotated[list[str], Distinct] = Field(default_factory=list, description=(
        "fine-tuned HuggingFace directories used as the BERT replicates (relative: under paper_data.root) "
        "instead of fine-tuning paper_data.bert once per seed"))
    relevance: RelevanceBand
    finetune: FinetuneParams
    train: PaperTrainParams
    probe: ProbeParams
    controls: ControlParams


def load_word_params(params: dict) -> WordInformationEmbedded:
    if params["scale"] == "paper":
        raise ParamsError(params.get("_path", "params.yaml"), "scale",
                          "the embedded word_information pipeline was asked for at paper scale; "
                          "use load_word_paper_params (benchmark.families.word_information.paper_scale)")
    return section(params, "word_information", WordInformationEmbedded)


def load_word_paper_params(params: dict) -> WordInformationPaper:
    return section(params, "word_information", WordInformationPaper)


def network_seeds(params: dict, cfg: WordInformationEmbedded | WordInformationPaper) -> list[int]:
    return replicates.draw(params, cfg.seeds)
