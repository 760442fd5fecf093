"""params.yaml, validated: a wrong param is an error naming params.yaml and the field.

Each experiment section holds one block per scale; the active scale is `scale` at the top, so
`dvc exp run -S scale=paper` switches every stage at once.

`load_params` validates the whole file against one schema (`validate_params`: every section, both
scales, by the families' own models, listed in SCHEMA), so every stage and `claims validate` refuse
a wrong param with the same message before any work; `section` then returns one block's model.
Blocks are read in strict mode (`epochs: true` or `2.0` is not an integer, `"fast"` not a number),
numbers must be finite and integers below 2^31 (10^30 epochs is a typo, not a budget), and keys
no model declares are refused at every level.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator

from benchmark.errors import ParamsError
from benchmark.paths import project_root
from benchmark.yamlfile import load as load_yaml, to_json

SCALES = ("embedded", "paper")
INT_MAX = 2**31 - 1  # no count, size or seed in params.yaml comes near it


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _distinct(v: list) -> list:
    if len(set(v)) != len(v):
        raise ValueError("values must be unique")
    return v


Distinct = AfterValidator(_distinct)
"""`Annotated[list[...], Distinct]`: a list param whose repeats would train or test the same thing twice."""


class MLPExperiment(_Strict):
    """A sweep of MLPs over label-corruption fractions x seeds."""

    dataset: str
    arch: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(min_length=1)
    label_noise: list[float] = Field(min_length=1)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    weight_decay: float = Field(default=0.0, ge=0)
    fit_threshold: float | None = Field(default=None, gt=0, le=1)
    train_subset: int | None = Field(default=None, ge=10)
    # networks trained together (benchmark.experiments.ensemble); part of the design, never
    # derived from `workers`: the bytes of a network may depend on its group, not on workers
    group_size: int = Field(default=1, ge=1)

    @field_validator("label_noise")
    @classmethod
    def _fractions(cls, v):
        if any(not 0 <= f <= 1 for f in v):
            raise ValueError("label-noise fractions must lie in [0, 1]")
        return v


class UnitAblationProbe(_Strict):
    split: Literal["train", "test"] = "test"


class CumulativeAblationProbe(_Strict):
    split: Literal["train", "test"] = "train"
    orders: int = Field(ge=1)
    fractions: list[float] = Field(min_length=2)
    eval_subset: int | None = Field(default=None, ge=10)


class RelianceProbe(_Strict):
    """morcos2018 M3/M4's cumulative ablation (the morcos family's reliance probe)."""

    orders: int = Field(ge=1)
    fractions: list[float] = Field(min_length=2)
    eval_subset: int | None = Field(default=None, ge=10)


class NoiseProbe(_Strict):
    """morcos2018 M2's Gaussian noise on every hidden unit (benchmark.families.morcos.noise)."""

    levels: list[float] = Field(min_length=2)  # noise SD as multiples of each layer's activation SD
    draws: int = Field(ge=1)
    eval_subset: int | None = Field(default=None, ge=10)

    @field_validator("levels")
    @classmethod
    def _levels(cls, v):
        if any(x < 0 for x in v) or v != sorted(v) or len(set(v)) != len(v):
            raise ValueError("noise levels are distinct, ascending and non-negative")
        return v


class CourseSummary(_Strict):
    """M3b's windows around the test-loss minimum (the morcos family's summary step)."""

    window: int = Field(ge=2)


def load_params(path: Path | None = None) -> dict:
    """params.yaml, validated as a whole (`validate_params`), with `_path` set to where it was read."""
    path = path or project_root() / "params.yaml"
    data = load_yaml(path, ParamsError)
    if not isinstance(data, dict):
        raise ParamsError(path, "<root>", "must be a mapping")
    scale = data.get("scale")
    if scale not in SCALES:
        raise ParamsError(path, "scale", f"unknown scale {scale!r}; expected one of {SCALES}")
    workers = data.get("workers", 1)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ParamsError(path, "workers", f"must be a positive integer, got {workers!r}")
    offset = data.get("seed_offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ParamsError(path, "seed_offset", f"must be a non-negative integer, got {offset!r}")
    data["_path"] = str(path)
    validate_params(data)
    from benchmark import devices, executors

    devices.configure(data)
    executors.configure(data)
    return data


# the draw's offset and seed lists: benchmark.replicates (kept here under their old names for callers
# not yet moved into their family's folder)
from benchmark.replicates import draw as offset_seeds  # noqa: E402
from benchmark.replicates import offset as seed_offset  # noqa: E402


def section(params: dict, dotted: str, model: type[BaseModel], scaled: bool = True) -> BaseModel:
    """Validate params[dotted][scale] (or params[dotted]) against `model`."""
    path = params.get("_path", "params.yaml")
    node = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ParamsError(path, dotted, "missing section")
        node = node[part]
    field = dotted
    if scaled:
        scale = params["scale"]
        if not isinstance(node, dict) or scale not in node:
            raise ParamsError(path, f"{dotted}.{scale}", f"no settings for scale {scale!r}")
        node, field = node[scale], f"{dotted}.{scale}"
    return validate_block(path, field, node, model)


def _check_numbers(node: Any, field: str, path) -> None:
    """Every number under `node` finite, every integer within +-INT_MAX (named by its dotted field)."""
    stack = [(node, field)]
    while stack:
        v, where = stack.pop()
        if isinstance(v, dict):
            stack.extend((x, _dotted(where, k)) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, _dotted(where, i)) for i, x in enumerate(v))
        elif isinstance(v, float) and not math.isfinite(v):
            raise ParamsError(path, where, f"must be a finite number, got {v}")
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) > INT_MAX:
            raise ParamsError(path, where, f"{v:.3g} is out of range (integers in params.yaml stay below 2^31)")


def validate_block(path, field: str, node: Any, model: type[BaseModel]) -> BaseModel:
    """`node` (the block at dotted `field` of the params file at `path`) as `model`, read strictly;
    the one place a params block is validated, so a stage and `claims validate` say the same thing."""
    _check_numbers(node, field, path)
    try:
        return model.model_validate_json(to_json(node, path, ParamsError), strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParamsError(path, _dotted(field, *err["loc"]) or "<root>", err["msg"]) from None


def _dotted(*parts) -> str:
    return ".".join(str(p) for p in parts if p != "")


class SweepNet(_Strict):
    """One architecture on one dataset, trained at every alpha x seed of a sweep."""

    dataset: str
    arch: str
    hidden: list[int] = Field(min_length=1)
    epochs: int = Field(ge=1)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=2)
    weight_decay: float = Field(default=0.0, ge=0)


class SweepExtension(_Strict):
    """Extra networks of a sweep (same nets, same recipe) for a claim that needs more seeds than
    the shared sweep (leavitt2021 L2 v3): only the alphas it compares and, per dataset, the seeds
    its sizing asks for. Seeds are disjoint from the sweep's (checked by the stage) and from the
    pilots named in the claim files."""

    alphas: Annotated[list[float], Distinct] = Field(min_length=2)
    seeds: dict[str, list[int]] = Field(description="dataset -> seeds (a fixed list)")
    stack_seeds: int = Field(default=1, ge=1)  # this many seeds (x every alpha) trained as one stack

    @field_validator("seeds")
    @classmethod
    def _unique_seeds(cls, v):
        for k, seeds in v.items():
            if len(set(seeds)) != len(seeds):
                raise ValueError(f"seeds of {k}: values must be unique")
        return v


class SelectivitySweep(_Strict):
    """leavitt2021: networks trained with the class-selectivity regularizer at each alpha."""

    nets: list[SweepNet] = Field(min_length=1)
    alphas: Annotated[list[float], Distinct] = Field(min_length=2)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1)
    regularized_layers: list[int] | None = None  # None: every hidden layer, as in the paper
    stack_seeds: int = Field(default=1, ge=1)  # conv nets: this many seeds (x every alpha) trained as one stack


class LayerSelectivityProbe(_Strict):
    split: Literal["train", "test"] = "test"


class CorruptionProbe(_Strict):
    kinds: dict[str, list[str]] = Field(description="dataset -> corruption kinds (benchmark.families.leavitt.corruptions)")
    severities: list[int] = Field(min_length=1)
    seed: int = 0


class AttackProbe(_Strict):
    attacks: list[Literal["fgsm", "pgd"]] = Field(min_length=1)
    epsilons: dict[str, list[float]] = Field(description="dataset -> L-inf budgets, in input units")
    pgd_steps: int = Field(default=10, ge=1)


class DimensionalityProbe(_Strict):
    variance: float = Field(default=0.95, gt=0, le=1)
    noise: str = "gaussian_noise"           # average-case perturbation: this corruption ...
    noise_severity: int = Field(default=2, ge=1)  # ... at this severity
    attack: Literal["fgsm", "pgd"] = "pgd"  # worst-case perturbation: this attack ...
    epsilon: dict[str, float]               # ... at this budget per dataset
    pgd_steps: int = Field(default=10, ge=1)
    seed: int = 0


# --- the whole file -------------------------------------------------------------------------------

class TopLevel(_Strict):
    """The file's own settings (the sections are validated by SCHEMA's models)."""

    scale: Literal["embedded", "paper"]
    seed_offset: int = Field(default=0, ge=0)
    workers: int = Field(default=1, ge=1, le=4096)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: bool = False
    executor: Literal["local", "ray"] = "local"
    ray_address: str | None = None
    paper_max_epochs: int | None = Field(default=None, ge=1)


class PaperData(_Strict):
    """Where the paper-scale files are: folders or files, relative ones under `root`."""

    root: str | None = None
    mnist: str | None = None
    cifar10: str | None = None
    cifar10_c: str | None = None
    tiny_imagenet: str | None = None
    tiny_imagenet_c: str | None = None
    places365: str | None = None
    lsun_church: str | None = None
    gan_weights: str | None = None
    segmenter: str | None = None
    broden: str | None = None
    sst2: str | None = None
    sst: str | None = None
    bert: str | None = None


class Calibration(_Strict):
    simulations: int = Field(ge=1)
    seed: int = Field(ge=0)


# section -> {scale: "module:Model"} (scaled sections) or "module:Model" (one block for all scales).
# `experiments` and `probes` hold one entry per experiment / probe, below.
SCHEMA: dict[str, dict[str, str] | str] = {
    "data": "benchmark.config:data_model",
    "paper_data": "benchmark.config:PaperData",
    "calibration": "benchmark.config:Calibration",
    "gan_dissection": {"embedded": "benchmark.families.scene_gan.params:GanDissectionEmbedded",
                       "paper": "benchmark.families.scene_gan.params:GanDissectionPaper"},
    "word_information": {"embedded": "benchmark.families.word_information.config:WordInformationEmbedded",
                         "paper": "benchmark.families.word_information.config:WordInformationPaper"},
    "scene_classifier": {"embedded": "benchmark.experiments.scene_classifier_config:ClassifierParams",
                         "paper": "benchmark.experiments.scene_classifier_config:ClassifierPaper"},
    "classifier_dissection": {"embedded": "benchmark.families.classifier_dissection.params:DissectionEmbedded",
                              "paper": "benchmark.families.classifier_dissection.params:DissectionPaper"},
    "feature_vis": {"embedded": "benchmark.families.feature_vis.config:FeatureVisParams",
                    "paper": "benchmark.families.feature_vis.config:FeatureVisPaper"},
}
# experiments.<name>: the model its training stage validates it with (the same at every scale)
EXPERIMENTS: dict[str, str] = {
    "morcos_selectivity": "benchmark.config:MLPExperiment",
    "morcos_generalization": "benchmark.config:MLPExperiment",
    "morcos_ensemble": "benchmark.families.morcos.experiments:RelianceExperiment",
    "morcos_course": "benchmark.families.morcos.experiments:RelianceExperiment",
    "morcos_batchnorm": "benchmark.families.morcos.experiments:RelianceExperiment",
    "morcos_dropout": "benchmark.families.morcos.experiments:RelianceExperiment",
    "morcos_reference": "benchmark.families.morcos.experiments:ReferenceExperiment",
    "leavitt_selectivity": "benchmark.config:SelectivitySweep",
    "leavitt_selectivity_extension": "benchmark.config:SweepExtension",
}
# probes.<name>: the config model its probe reads (the probe registry, benchmark.probes.registry,
# pairs the same names with the same models; read here without importing the probes and torch)
PROBES: dict[str, str] = {
    "unit_ablation": "benchmark.config:UnitAblationProbe",
    "cumulative_ablation": "benchmark.config:CumulativeAblationProbe",
    "reliance": "benchmark.config:RelianceProbe",
    "reliance_fine": "benchmark.config:RelianceProbe",
    "noise_robustness": "benchmark.config:NoiseProbe",
    "course_summary": "benchmark.config:CourseSummary",
    "layer_selectivity": "benchmark.config:LayerSelectivityProbe",
    "corruption": "benchmark.config:CorruptionProbe",
    "attack": "benchmark.config:AttackProbe",
    "dimensionality": "benchmark.config:DimensionalityProbe",
}


def _attr(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def _resolve(ref: str) -> type[BaseModel]:
    obj = _attr(ref)
    return obj if isinstance(obj, type) else obj()  # a model, or a function that builds one


# data.<name>: the function that generates (or writes) that embedded dataset (the data registry,
# benchmark.data.registry, pairs the same names with the same functions; read here without
# importing the paper-scale loaders and torch)
DATA: dict[str, str] = {
    "mnist1d": "benchmark.data.mnist1d_gen:generate",
    "digits": "benchmark.data.digits_gen:generate",
    "scenes": "benchmark.data.scenes:write",
    "sentiment": "benchmark.data.sentiment_corpus:write",
    "scene_classes": "benchmark.data.scene_classes:write",
}


@functools.cache
def data_model() -> type[BaseModel]:
    """`data:` one optional block per embedded dataset, whose keys are its generator's (or writer's)
    keyword arguments, typed by their annotations (the signature is the schema)."""
    fields = {}
    for name, ref in DATA.items():
        fn = _attr(ref)
        args = {a: (prm.annotation if prm.annotation is not inspect.Parameter.empty else Any, prm.default)
                for a, prm in inspect.signature(fn, eval_str=True).parameters.items()
                if prm.default is not inspect.Parameter.empty}
        fields[name] = (create_model(f"Data_{name}", __base__=_Strict, **args) | None, None)
    return create_model("Data", __base__=_Strict, **fields)


def validate_params(params: dict) -> None:
    """The whole params file, every section and every scale's block, against SCHEMA (the active
    scale's block must exist; the other scale's is checked when present). Raises ParamsError."""
    path = params.get("_path", "params.yaml")
    sections = {**SCHEMA, "experiments": EXPERIMENTS, "probes": PROBES}
    known = set(TopLevel.model_fields) | set(sections)
    for key in params:
        if key != "_path" and key not in known:
            raise ParamsError(path, str(key), f"unknown setting; params.yaml has {', '.join(sorted(known))}")
    validate_block(path, "", {k: v for k, v in params.items() if k in TopLevel.model_fields}, TopLevel)
    scale = params["scale"]

    def scaled(field: str, node: Any, models: dict[str, str]) -> None:
        if not isinstance(node, dict):
            raise ParamsError(path, field, f"a mapping with a block per scale ({', '.join(models)})")
        for key in node:
            if key not in models:
                raise ParamsError(path, f"{field}.{key}", f"unknown scale; expected {', '.join(models)}")
        if scale not in node:
            raise ParamsError(path, f"{field}.{scale}", f"no settings for scale {scale!r}")
        for sc, block in node.items():
            validate_block(path, f"{field}.{sc}", block, _resolve(models[sc]))

    def named(field: str, node: Any, models: dict[str, type[BaseModel] | str], what: str) -> dict:
        if not isinstance(node, dict):
            raise ParamsError(path, field, f"a mapping of {what} names to their settings")
        for key in node:
            if key not in models:
                raise ParamsError(path, f"{field}.{key}", f"unknown {what}; known: {', '.join(sorted(models))}")
        return node

    for name, spec in SCHEMA.items():
        if name not in params:
            continue  # a stage that needs it says so ("missing section")
        if isinstance(spec, dict):
            scaled(name, params[name], spec)
        else:
            validate_block(path, name, params[name], _resolve(spec))
    if "experiments" in params:
        for name, block in named("experiments", params["experiments"], EXPERIMENTS, "experiment").items():
            model = EXPERIMENTS[name]
            scaled(f"experiments.{name}", block, {sc: model for sc in SCALES})
    if "probes" in params:
        for name, block in named("probes", params["probes"], PROBES, "probe").items():
            validate_block(path, f"probes.{name}", block, _resolve(PROBES[name]))
