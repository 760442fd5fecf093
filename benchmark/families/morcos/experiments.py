"""morcos2018 M3/M4: reliance on single directions across an ensemble, over training, with batch
norm and dropout. What is trained (the settings, one block per scale in params.yaml) and the
networks' names; the training itself is `benchmark.experiments.ensemble` (groups of same-shape
networks trained together).

Conditions of one network: its architecture (`mlp`, `mlp+bn`, `mlp+dropout=<p>`), its learning
rate and its seed. Jobs are condition-major (one architecture x learning rate's seeds together),
cut into groups of `group_size`; a group never mixes architectures or learning rates (both are
settings shared by the whole group in the ensemble trainer), which `jobs()` checks.

Checkpoints (M3b): parameters every `checkpoint_every` epochs; the training stage records the
test loss of every checkpoint (`course_loss`) and, with `checkpoint_window`, saves only the
checkpoints within that many epochs of the test-loss minimum, the only ones whose ablation area
the M3b statistic reads (the ablation probe is most of the course's cost).
"""

from __future__ import annotations

from benchmark import replicates

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchmark.config import Distinct


class RelianceExperiment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    hidden: list[int] = Field(min_length=1)
    archs: Annotated[list[str], Distinct] = Field(default_factory=lambda: ["mlp"], min_length=1)
    lrs: Annotated[list[float], Distinct] = Field(min_length=1)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1)
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=2)
    train_subset: int | None = Field(default=None, ge=10)
    fit_threshold: float | None = Field(default=None, gt=0, le=1)
    checkpoint_every: int | None = Field(default=None, ge=1)  # keep parameters every k epochs (M3b)
    # keep only the checkpoints within this many epochs of the checkpoint of minimum test loss
    # (M3b's windows; the test loss of every checkpoint is still recorded); None: keep all
    checkpoint_window: int | None = Field(default=None, ge=1)
    group_size: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _groups_do_not_mix(self):
        if len(self.seeds) % self.group_size:
            raise ValueError(f"group_size {self.group_size} must divide the {len(self.seeds)} seeds "
                             "(a group never mixes architectures or learning rates)")
        return self

    def conditions(self, offset: int = 0) -> list[tuple[str, float, int]]:
        """(arch, lr, seed) of every network, condition-major; seeds shifted by `offset`."""
        return [(arch, lr, seed + offset) for arch in self.archs for lr in self.lrs for seed in self.seeds]

    def checkpoints(self) -> list[int]:
        if not self.checkpoint_every:
            return []
        return list(range(self.checkpoint_every, self.epochs + 1, self.checkpoint_every))


def network_name(arch: str, lr: float, seed: int, epoch: int | None = None) -> str:
    pairs = [("seed", seed), ("arch", arch), ("lr", float(lr))] + ([("epoch", f"{epoch:04d}")] if epoch is not None else [])
    return replicates.name(*pairs)


class ReferenceExperiment(BaseModel):
    """The mnist1d authors' own MLP recipe, trained once beside the family's MLPs on the same data, so
    that a proxy's held-out accuracy can be told apart from the recipe's (benchmark.families.morcos.reference)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset: str
    hidden: int = Field(default=100, ge=1)
    steps: int = Field(ge=1)           # optimizer steps (the authors': 6000 at batch 100, i.e. 150 epochs of 4000)
    lr: float = Field(gt=0)
    batch_size: int = Field(ge=1)
    seeds: Annotated[list[int], Distinct] = Field(min_length=1)
