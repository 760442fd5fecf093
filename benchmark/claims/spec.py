"""The schema of a claim file.

Specs are frozen pydantic models (never dicts passed around): an unknown key, a missing field or a
value out of range is an error at load time that names the file and the field.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CLAIM_ID = re.compile(r"^[a-z][a-z0-9]*[0-9]{4}[a-z]?\.[a-z0-9][a-z0-9-]*$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class PaperRef(Frozen):
    key: str = Field(min_length=1, description="Short key, e.g. morcos2018")
    cite: str = Field(min_length=1, description="Full citation")
    where: str = Field(min_length=1, description="Section / figure the claim comes from")
    url: str | None = None


class Hypothesis(Frozen):
    h0: str = Field(min_length=1)
    h1: str = Field(min_length=1)
    falsified_if: str = Field(min_length=1)


class EvidenceSpec(Frozen):
    experiment: str = Field(pattern=r"^[a-z0-9_]+$")
    table: str = Field(pattern=r"^[a-z0-9_]+$")
    columns: dict[str, str] = Field(description="column name -> meaning and unit")

    @field_validator("columns")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("at least one column is required")
        bad = [c for c in v if not COLUMN.match(c)]
        if bad:
            raise ValueError(f"invalid column names {bad}")
        return v


class TestSpec(Frozen):
    """Which statistical test, and the decision settings fixed before the data are seen.

    form: `directional`: the claim says the effect lies beyond `null` in `direction`, by at least
          `sesoi` (smallest effect size of interest).
          `bound`: the claim says the effect stays below `bound` in `direction` (non-superiority;
          "no relationship larger than ...").
    """

    __test__ = False  # not a pytest class

    kind: str = Field(min_length=1)
    form: Literal["directional", "bound"]
    direction: Literal["greater", "less"]
    alpha: float = Field(gt=0, lt=0.5)
    power: float = Field(gt=0, lt=1)
    sesoi: float | None = Field(default=None, gt=0)
    bound: float | None = None
    null: float = 0.0
    min_replicates: int = Field(default=3, ge=2)
    precision: float | None = Field(
        default=None, gt=0,
        description="target (1 - 2 alpha) half-width on the report scale; default: half the distance "
                    "between the null and the design point (null + sesoi, or the bound)")
    params: dict[str, object] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _form_needs(self) -> "TestSpec":
        if self.form == "directional" and self.sesoi is None:
            raise ValueError("form 'directional' needs 'sesoi' (smallest effect size of interest)")
        if self.form == "bound" and self.bound is None:
            raise ValueError("form 'bound' needs 'bound'")
        if self.form == "bound" and self.sesoi is not None:
            raise ValueError("form 'bound' takes 'bound', not 'sesoi'")
        if self.form == "bound":
            sign = 1 if self.direction == "less" else -1
            if sign * (self.bound - self.null) <= 0:
                raise ValueError(
                    f"bound {self.bound} must lie on the {self.direction!r} side's far edge: "
                    f"for direction 'less' above null {self.null}, for 'greater' below it"
                )
        return self


class Pilot(Frozen):
    """What a pilot on seeds disjoint from the verdict's said about the claim's estimator.

    `se` is the pilot estimate's standard error on the test's working scale (Fisher z for
    correlations), of the weakest stratum for claims that must hold in every stratum; `n` and `df`
    are the pilot's; `strata` is the number of strata the claim must hold in (intersection-union).
    The design's power and precision are projected from it (se * sqrt(n / replicates)) and checked
    by `claims validate`: a design is fixed before the verdict's data exist, so its power never
    flips between reruns.
    """

    seeds: str = Field(min_length=1, description="the pilot's seeds, e.g. '100-104' (disjoint from the verdict's)")
    n: int = Field(ge=2)
    se: float = Field(gt=0)
    df: float | None = Field(default=None, gt=0, description="default n - 1")
    strata: int = Field(default=1, ge=1)


class ScaleSetting(Frozen):
    replicates: int = Field(ge=1, description="the n the test reports when the pipeline runs as designed "
                                              "(networks or generators; the weakest stratum's n with strata)")
    why: str = Field(min_length=1)
    pilot: Pilot | None = None


class Precondition(Frozen):
    """A check the instrument must pass before the claim can be decided (e.g. door units exist).

    Read from a numeric column of the claim's own evidence table: reduced within each replicate
    (`reduce`), then `op threshold` must hold for every replicate. A failure makes the verdict
    `inconclusive` (precondition failed), never `falsified`.
    """

    name: str = Field(min_length=1)
    column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    reduce: Literal["max", "min", "mean"] = "mean"
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    why: str = Field(min_length=1, description="where the threshold comes from (the paper, the instrument)")


class ClaimSpec(Frozen):
    id: str
    version: int = Field(ge=1)
    changelog: list[str] = Field(min_length=1)
    paper: PaperRef
    statement: str = Field(min_length=1)
    hypothesis: Hypothesis
    evidence: EvidenceSpec
    test: TestSpec
    scales: dict[Literal["embedded", "paper"], ScaleSetting]
    requires: list[str] = Field(
        default_factory=list, description="manipulation-check claims that must be reproduced first"
    )
    preconditions: list[Precondition] = Field(default_factory=list)
    deviations: list[str] = Field(default_factory=list)
    figure: dict[str, str] = Field(default_factory=dict, description="axis labels etc.")

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not CLAIM_ID.match(v):
            raise ValueError(f"{v!r} is not '<paperkey>.<slug>' (e.g. morcos2018.selectivity-not-importance)")
        return v

    @field_validator("scales")
    @classmethod
    def _embedded(cls, v):
        if "embedded" not in v:
            raise ValueError("the 'embedded' scale is required")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> "ClaimSpec":
        if not self.id.startswith(self.paper.key + "."):
            raise ValueError(f"id {self.id!r} must start with the paper key {self.paper.key!r}")
        if self.id in self.requires:
            raise ValueError("a claim cannot require itself")
        if len(self.changelog) < self.version:
            raise ValueError(f"version {self.version} needs a changelog line per version")
        undeclared = [p.column for p in self.preconditions if p.column not in self.evidence.columns]
        if undeclared:
            raise ValueError(f"precondition columns {undeclared} are not declared in evidence.columns")
        if len({p.name for p in self.preconditions}) != len(self.preconditions):
            raise ValueError("precondition names must be unique")
        return self
