"""The schema of a claim file.

Specs are frozen pydantic models (never dicts passed around): an unknown key, a missing field or a
value out of range is an error at load time that names the file and the field. Numbers are finite
(`bound: .inf` would always reproduce, `sesoi: .nan` never decide) and counts bounded (10^29
replicates would make the design's power NaN); claim files are read in strict mode
(benchmark.claims.registry), so an integer field takes only an integer.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from benchmark.claims.seeds import parse_seeds

CLAIM_ID = re.compile(r"^[a-z][a-z0-9]*[0-9]{4}[a-z]?\.[a-z0-9][a-z0-9-]*$")
COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_REPLICATES = 100_000  # networks a design may ask for; more is a typo (and overflows the power)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class PaperRef(Frozen):
    key: str = Field(min_length=1, description="Short key, e.g. morcos2018")
    cite: str = Field(min_length=1, description="Full citation")
    where: str | None = Field(default=None, min_length=1, description="(older files) section / figure; now source.where")
    url: str | None = None


PARAPHRASE = "[paraphrase]"
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")  # a sentence ends before a capital


class Source(Frozen):
    """The sentence(s) of the paper the claim tests, verbatim, and where they stand; where the paper
    cannot be read, a paraphrase that starts with `[paraphrase]` and names its reference (never an
    invented quote)."""

    quote: str = Field(min_length=1, max_length=1500)
    where: str = Field(min_length=1, description="section, figure or page (or the authors' page, code, notebook)")

    @field_validator("quote")
    @classmethod
    def _short(cls, v: str) -> str:
        if v.startswith(PARAPHRASE):
            if len(v) <= len(PARAPHRASE) + 10:
                raise ValueError("a paraphrase says what the paper claims, and names its reference")
            return v
        sentences = [x for x in SENTENCE_END.split(v.strip()) if x.strip()]
        if len(sentences) > 3:
            raise ValueError(f"a quote is at most three sentences (this one has {len(sentences)}): quote the ones "
                             "the claim tests")
        return v

    @property
    def paraphrase(self) -> bool:
        return self.quote.startswith(PARAPHRASE)


class SesoiSource(Frozen):
    """Where the smallest effect of interest (the SESOI, a bound or an equivalence margin) comes
    from: the paper's own figure, or a stated convention with its reference. Never a pilot: a pilot
    sizes replicates for a SESOI that is already fixed."""

    kind: Literal["paper", "convention"]
    ref: str = Field(min_length=5, description="the paper's figure/section, or the convention and its reference")


CONTROL_ID = re.compile(r"^[a-z0-9_]+/[a-z0-9_.-]+$")


class Hypothesis(Frozen):
    h0: str = Field(min_length=1)
    h1: str = Field(min_length=1)
    falsified_if: str = Field(min_length=1)


Domain = Literal["integer", "count", "binary"] | tuple[float | None, float | None]


class EvidenceSpec(Frozen):
    """Which table the test reads, what its columns mean, and what a trustworthy table looks like.

    key: the columns that identify one observation (e.g. [seed, layer, unit]); no two rows may
         share them (a duplicated row would count a unit twice). Without a key, identical rows
         are refused.
    domains: per column, `integer`, `count` (integer >= 0), `binary` (0 or 1) or an inclusive
         range `[lo, hi]` (null = open end), e.g. `{seed: integer, selectivity: [0, 1]}`; a value
         outside it is an error naming the row.
    The replicate column (test.params.replicate) must be complete: no empty, NaN or infinite value.
    """

    experiment: str = Field(pattern=r"^[a-z0-9_]+$")
    table: str = Field(pattern=r"^[a-z0-9_]+$")
    columns: dict[str, str] = Field(description="column name -> meaning and unit")
    key: tuple[str, ...] = Field(default=(), description="columns identifying one row; unique")
    domains: dict[str, Domain] = Field(default_factory=dict, description="column -> integer | count | binary | [lo, hi]")

    @field_validator("columns")
    @classmethod
    def _names(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("at least one column is required")
        bad = [c for c in v if not COLUMN.match(c)]
        if bad:
            raise ValueError(f"invalid column names {bad}")
        return v

    @field_validator("key")
    @classmethod
    def _key(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        _declared(v, info, "key")
        if len(set(v)) != len(v):
            raise ValueError(f"key lists a column twice: {list(v)}")
        return v

    @field_validator("domains")
    @classmethod
    def _domains(cls, v: dict[str, Domain], info: ValidationInfo) -> dict[str, Domain]:
        _declared(tuple(v), info, "domains")
        for col, dom in v.items():
            if isinstance(dom, tuple):
                lo, hi = dom
                if any(b is not None and b != b for b in dom):
                    raise ValueError(f"column {col!r}: range bounds must be numbers or null")
                if lo is not None and hi is not None and lo > hi:
                    raise ValueError(f"column {col!r}: range [{lo}, {hi}] is empty (lo > hi)")
        return v


def _declared(cols: tuple[str, ...], info: ValidationInfo, what: str) -> None:
    declared = info.data.get("columns")
    if declared is None:  # columns failed their own validation: that error is reported
        return
    unknown = [c for c in cols if c not in declared]
    if unknown:
        raise ValueError(f"{what} names undeclared columns {unknown} (declared: {list(declared)})")


class TestSpec(Frozen):
    """Which statistical test, and the decision settings fixed before the data are seen.

    form: `directional`: the claim says the effect lies beyond `null` in `direction`, by at least
          `sesoi` (smallest effect size of interest).
          `bound`: the claim says the effect stays below `bound` in `direction` (non-superiority;
          "no relationship larger than ...").
          `equivalence`: the claim says there is no difference: the effect lies within `margin` of
          `null` on both sides (two one-sided tests); an effect significantly beyond the margin on
          either side falsifies it. No `direction`.
    """

    __test__ = False  # not a pytest class

    kind: str = Field(min_length=1)
    form: Literal["directional", "bound", "equivalence"]
    direction: Literal["greater", "less"] | None = None
    alpha: float = Field(gt=0, lt=0.5)
    power: float = Field(gt=0, lt=1)
    sesoi: float | None = Field(default=None, gt=0)
    bound: float | None = None
    margin: float | None = Field(default=None, gt=0, description="equivalence: the largest difference from the "
                                 "null that still counts as none (both sides)")
    null: float = 0.0
    min_replicates: int = Field(default=3, ge=2, le=MAX_REPLICATES)
    precision: float | None = Field(
        default=None, gt=0,
        description="target (1 - 2 alpha) half-width on the report scale; default: half the distance "
                    "between the null and the design point (null + sesoi, or the bound)")
    params: dict[str, object] = Field(default_factory=dict)
    estimand: Literal["every_stratum", "pooled"] | None = Field(
        default=None,
        description="for a stratified test (params.strata): `every_stratum` (the claim holds in each stratum: "
                    "intersection-union) or `pooled` (one effect, strata weighted equally within each replicate; "
                    "replicate_correlation only). Declared before the data, from the paper's sentence")
    strata_levels: tuple[str, ...] | None = Field(
        default=None, min_length=1,
        description="the strata the claim speaks of, as the table writes them; each must be present in the "
                    "evidence (a missing one is refused, never passed), and no other may be")

    @model_validator(mode="after")
    def _strata(self) -> "TestSpec":
        col = self.params.get("strata")
        if not col and (self.estimand is not None or self.strata_levels is not None):
            raise ValueError("estimand and strata_levels belong to a stratified test (params.strata)")
        if self.strata_levels is not None and len(set(self.strata_levels)) != len(self.strata_levels):
            raise ValueError(f"strata_levels lists a stratum twice: {list(self.strata_levels)}")
        return self

    def resolved_estimand(self) -> str | None:
        """The declared estimand (claim files must declare it; bare test specs in code default to
        the kind's historical rule: pooled for correlations, every_stratum otherwise)."""
        if not self.params.get("strata"):
            return None
        if self.estimand:
            return self.estimand
        return "pooled" if self.kind == "replicate_correlation" else "every_stratum"

    @model_validator(mode="after")
    def _form_needs(self) -> "TestSpec":
        if self.form == "equivalence":
            if self.margin is None:
                raise ValueError("form 'equivalence' needs 'margin' (the largest difference that counts as none)")
            extra = [k for k in ("sesoi", "bound", "direction") if getattr(self, k) is not None]
            if extra:
                raise ValueError(f"form 'equivalence' takes 'margin', not {extra}")
            if self.params.get("strata"):
                raise ValueError("form 'equivalence' over strata is not implemented: test one stratum per claim")
            return self
        if self.margin is not None:
            raise ValueError(f"'margin' belongs to form 'equivalence', not {self.form!r}")
        if self.direction is None:
            raise ValueError(f"form {self.form!r} needs 'direction' (greater | less)")
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
    n: int = Field(ge=2, le=MAX_REPLICATES)
    se: float = Field(gt=0)
    df: float | None = Field(default=None, gt=0, le=MAX_REPLICATES, description="default n - 1")
    strata: int = Field(default=1, ge=1, le=1000)

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: str) -> str:
        parse_seeds(v)  # "5-1", "banana": refused here, naming the field
        return v


class ScaleSetting(Frozen):
    replicates: int = Field(ge=1, le=MAX_REPLICATES, description="the n the test reports when the pipeline runs as designed "
                                              "(networks or generators; with strata, the n of the stratum the "
                                              "design is sized on)")
    strata: dict[str, int] | None = Field(
        default=None, description="replicates per stratum, by the value of test.params.strata, when the "
                                  "design sizes its strata apart (leavitt2021 L2: mnist1d 161, digits 16); the "
                                  "gate then checks every stratum's n against its own")
    strata_levels: tuple[str, ...] | None = Field(
        default=None, min_length=1,
        description="the strata at this scale when they differ from test.strata_levels (e.g. the paper's "
                    "datasets, cifar10 and tiny_imagenet, where the embedded scale has mnist1d and digits)")
    why: str = Field(min_length=1)
    pilot: Pilot | None = None
    undecidable: str | None = Field(
        default=None, min_length=1,
        description="why this scale cannot decide the claim within its budget, with the replicates its "
                    "pilot says a decision needs; the verdict at this scale is then always `inconclusive` "
                    "and its estimate is reported as a description. `claims validate` rejects it when the "
                    "pilot says the declared replicates can decide (a design must then be sized instead)")

    @field_validator("strata")
    @classmethod
    def _strata(cls, v: dict[str, int] | None) -> dict[str, int] | None:
        bad = {k: n for k, n in (v or {}).items() if not 1 <= n <= MAX_REPLICATES}
        if bad:
            raise ValueError(f"replicates per stratum lie in 1 .. {MAX_REPLICATES}, got {bad}")
        return v


class Precondition(Frozen):
    """A check the instrument must pass before the claim can be decided (e.g. door units exist).

    Read from a numeric column of the claim's own evidence table: reduced within each replicate
    (`reduce`), then `op threshold` is checked for every replicate. `on_fail: inconclusive` (the
    default): any failing replicate makes the verdict `inconclusive` (precondition failed), never
    `falsified`. `on_fail: drop`: the claim is about models that have the property (e.g. a
    generator with door units), so failing replicates are left out of the test, named in the
    result, and the verdict is `inconclusive` only when fewer than `min_replicates` remain.
    """

    name: str = Field(min_length=1)
    column: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    reduce: Literal["max", "min", "mean"] = "mean"
    op: Literal[">", ">=", "<", "<="]
    threshold: float
    on_fail: Literal["inconclusive", "drop"] = "inconclusive"
    why: str = Field(min_length=1, description="where the threshold comes from (the paper, the instrument)")


class PaperFigure(Frozen):
    """The paper's own number for the claim's estimate, on the report scale (the scale of the
    test's estimate: rho, a difference in accuracy, ...), marked on the report's forest plot."""

    value: float = Field(allow_inf_nan=False)
    note: str = Field(min_length=1, description="where the number comes from (figure, table, how it was read)")


class ClaimSpec(Frozen):
    id: str
    version: int = Field(ge=1, le=10_000)
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
    paper_figure: PaperFigure | None = Field(
        default=None, description="the paper's own estimate, where it gives one (optional)")
    scope: Literal["paper", "extension"] | None = Field(
        default=None, description="paper: the sentence the paper wrote; extension: the suite's own hypothesis (a "
                                  "mechanism, a variant, a stronger form than the paper commits to), reported apart")
    source: Source | None = None
    sesoi_source: SesoiSource | None = None
    conditional_on: tuple[str, ...] = Field(
        default=(), description="random sources a second draw does not redraw (a dataset sample pinned by "
                                "data.dvc, a reference segmenter): the interval is conditional on them, and the "
                                "report says so")
    controls: tuple[str, ...] = Field(
        default=(), description="the instrument's controls this claim relies on, '<family>/<control>' as the "
                                "family's controls table names them (evidence/controls/<family>.csv); a failed or "
                                "missing one makes the verdict inconclusive, never falsified")

    @field_validator("controls")
    @classmethod
    def _controls(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if not CONTROL_ID.match(c)]
        if bad:
            raise ValueError(f"controls {bad} are not '<family>/<control>' (e.g. classifier_dissection/iou.permuted_masks)")
        if len(set(v)) != len(v):
            raise ValueError("a control is listed twice")
        return v

    def strata_levels_at(self, scale: str) -> tuple[str, ...] | None:
        """The strata the claim speaks of at `scale` (the scale's own, else test.strata_levels)."""
        setting = self.scales.get(scale)
        if setting is not None and setting.strata_levels is not None:
            return setting.strata_levels
        return self.test.strata_levels

    def missing_trial_fields(self) -> list[str]:
        """What a claim on trial must state and this file does not (`claims validate` fails on any):
        the paper's sentence and where it stands, the scope, and where the smallest effect comes from."""
        out = [f for f in ("scope", "source", "sesoi_source") if getattr(self, f) is None]
        return out

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
        if self.test.params.get("strata") and (self.test.estimand is None or self.test.strata_levels is None):
            raise ValueError("test.params.strata: a stratified claim declares its estimand (test.estimand: "
                             "every_stratum | pooled) and its strata (test.strata_levels) before the data")
        undeclared = [p.column for p in self.preconditions if p.column not in self.evidence.columns]
        if undeclared:
            raise ValueError(f"precondition columns {undeclared} are not declared in evidence.columns")
        if len({p.name for p in self.preconditions}) != len(self.preconditions):
            raise ValueError("precondition names must be unique")
        for scale, setting in self.scales.items():
            if setting.strata is None:
                continue
            if not self.test.params.get("strata"):
                raise ValueError(f"scales.{scale}.strata: the test has no strata (test.params.strata)")
            if not setting.strata or any(n < self.test.min_replicates for n in setting.strata.values()):
                raise ValueError(f"scales.{scale}.strata: every stratum needs at least min_replicates "
                                 f"({self.test.min_replicates}) replicates")
            levels = setting.strata_levels or self.test.strata_levels
            if levels is not None and set(setting.strata) != set(levels):
                raise ValueError(f"scales.{scale}.strata sizes {sorted(setting.strata)}, but the claim declares the "
                                 f"strata {list(levels)} at this scale (strata_levels)")
            if setting.replicates not in setting.strata.values():
                raise ValueError(f"scales.{scale}.replicates ({setting.replicates}) must be one stratum's count "
                                 f"(the one the design is sized on), not {setting.strata}")
        return self


def thresholds(spec: TestSpec) -> tuple[float, float, str, str]:
    """(support threshold, against threshold, support side, against side), report scale."""
    sign = 1.0 if spec.direction == "greater" else -1.0
    other = "less" if spec.direction == "greater" else "greater"
    if spec.form == "directional":
        return spec.null, spec.null + sign * spec.sesoi, spec.direction, other
    return spec.bound, spec.bound, spec.direction, other
