"""params.yaml, validated: a wrong param is an error naming params.yaml and the field.

Each experiment section holds one block per scale; the active scale is `scale` at the top, so
`dvc exp run -S scale=paper` switches every stage at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from benchmark.errors import ParamsError
from benchmark.paths import project_root

SCALES = ("embedded", "paper")


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


def load_params(path: Path | None = None) -> dict:
    path = path or project_root() / "params.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ParamsError(path, "<file>", "params.yaml not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(path, "<yaml>", str(exc)) from None
    if not isinstance(data, dict):
        raise ParamsError(path, "<root>", "must be a mapping")
    scale = data.get("scale")
    if scale not in SCALES:
        raise ParamsError(path, "scale", f"unknown scale {scale!r}; expected one of {SCALES}")
    workers = data.get("workers", 1)
    if not isinstance(workers, int) or workers < 1:
        raise ParamsError(path, "workers", f"must be a positive integer, got {workers!r}")
    offset = data.get("seed_offset", 0)
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ParamsError(path, "seed_offset", f"must be a non-negative integer, got {offset!r}")
    data["_path"] = str(path)
    from benchmark import devices, executors

    devices.configure(data)
    executors.configure(data)
    return data


def seed_offset(params: dict) -> int:
    """Added to every seed a stage trains or samples with (networks, generators, latents), so that
    `dvc exp run -S seed_offset=1000` reruns the whole suite on disjoint seeds: a second draw."""
    return int(params.get("seed_offset", 0))


def offset_seeds(params: dict, seeds) -> list[int]:
    """`seeds` shifted by seed_offset: what every family's seed list becomes in a stage."""
    return [s + seed_offset(params) for s in seeds]


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
    try:
        return model.model_validate(node)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ParamsError(path, f"{field}.{loc}" if loc else field, err["msg"]) from None


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
    kinds: dict[str, list[str]] = Field(description="dataset -> corruption kinds (benchmark.probes.corruptions)")
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
