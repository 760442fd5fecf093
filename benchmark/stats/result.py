"""The one result type every test kind returns."""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any


class Verdict(str, enum.Enum):
    REPRODUCED = "reproduced"
    FALSIFIED = "falsified"
    INCONCLUSIVE = "inconclusive"


class Reason(str, enum.Enum):
    """Why a verdict came out as it did: the category the gate compares across runs."""

    SUPPORTED = "supported"                      # reproduced: significant on the claim's side
    CONTRARY = "contrary"                        # falsified: significant against the claim
    OVERLAP = "overlap"                          # the interval overlaps the claim and its contrary
    TOO_LITTLE_EVIDENCE = "too_little_evidence"  # fewer replicates than min_replicates
    UNDEFINED = "undefined"                      # the statistic is undefined (no variance, no data)
    PRECONDITION_FAILED = "precondition_failed"  # the instrument failed a declared check
    MANIPULATION_FAILED = "manipulation_failed"  # a required manipulation check was not reproduced
    UNDECIDABLE = "undecidable"                  # the scale declares its design unable to decide
    CONTROL_FAILED = "control_failed"            # the instrument failed (or did not run) a declared control


@dataclasses.dataclass(frozen=True)
class PreconditionResult:
    """One declared check of the instrument: the weakest replicate's value against the threshold."""

    name: str
    column: str
    value: float          # the weakest replicate's reduced value (NaN: no data)
    op: str
    threshold: float
    passed: bool
    failing: tuple[str, ...] = ()  # replicates that fail it
    on_fail: str = "inconclusive"  # "drop": failing replicates were left out of the test


@dataclasses.dataclass(frozen=True)
class Stratum:
    """One stratum's own test (e.g. one dataset or layer): its estimate, (1 - 2 alpha) interval,
    one-sided p-values, standard error and df on the working scale, and its own verdict at the
    claim's alpha. For `every_stratum` claims the strata decide together (intersection-union);
    for `pooled` claims they are reported beside the pooled effect."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    p_support: float = math.nan
    p_against: float = math.nan
    se: float = math.nan   # working scale
    df: float = math.nan
    verdict: str | None = None  # the stratum's own verdict at the claim's alpha (None: not tested alone)


@dataclasses.dataclass(frozen=True)
class TestResult:
    """Everything needed to redo a verdict by hand.

    estimate/ci_*: the effect on the claim's reporting scale, with the (1 - 2 alpha) interval
    (so a one-sided test at alpha rejects exactly when the interval excludes the threshold).
    p_support: one-sided p of the null the claim must reject (raw).
    p_against: one-sided p of the null whose rejection falsifies the claim (raw).
    power: observed sensitivity: power of the support test at the design point (the smallest
    effect of interest for directional claims, no effect for bound claims) from the fitted
    variance. Reported, never a gate: the design's power is fixed from the pilot in the claim file.
    reason_code: the category of `reason` (see `Reason`).
    For an `every_stratum` claim the interval is the one that redoes both halves of its rule:
    on the claimed side the (1 - 2 alpha) bound of the weakest stratum (every stratum must reject
    at alpha), on the other side the (1 - 2 alpha / k) bound of the weakest stratum (Bonferroni
    over k strata: some stratum significantly short falsifies); `estimate` is the smallest effect.
    """

    __test__ = False

    kind: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    statistic: float
    df: float
    p_support: float
    p_against: float
    power: float
    n: int
    verdict: Verdict
    reason: str
    reason_code: Reason = Reason.OVERLAP
    se: float = math.nan          # working scale (Fisher z for correlations); for every_stratum
    transform: str = "identity"   # claims, that of the stratum with the smallest effect
    estimand: str | None = None   # every_stratum | pooled (stratified claims), None otherwise
    heterogeneity: str | None = None  # "reproduced in ...; falsified in ..." when strata disagree
    strata: tuple[Stratum, ...] = ()
    preconditions: tuple[PreconditionResult, ...] = ()
    controls: tuple[dict[str, Any], ...] = ()  # the instrument's declared controls and their outcomes
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["verdict"] = self.verdict.value
        d["reason_code"] = self.reason_code.value
        d["strata"] = [dataclasses.asdict(s) for s in self.strata]
        d["preconditions"] = [{**dataclasses.asdict(p), "failing": list(p.failing)} for p in self.preconditions]
        d["controls"] = [dict(c) for c in self.controls]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TestResult":
        d = dict(d)
        d["verdict"] = Verdict(d["verdict"])
        d["reason_code"] = Reason(d.get("reason_code", Reason.OVERLAP.value))
        d["strata"] = tuple(Stratum(**s) for s in d.get("strata", ()))
        d["preconditions"] = tuple(PreconditionResult(**{**p, "failing": tuple(p.get("failing", ()))})
                                   for p in d.get("preconditions", ()))
        d["controls"] = tuple(dict(c) for c in d.get("controls", ()))
        return cls(**d)
