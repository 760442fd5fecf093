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


@dataclasses.dataclass(frozen=True)
class Stratum:
    """A secondary breakdown (e.g. one layer): reported, not used for the verdict unless the
    test kind says so (intersection-union over strata)."""

    name: str
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    p_support: float = math.nan


@dataclasses.dataclass(frozen=True)
class TestResult:
    """Everything needed to redo a verdict by hand.

    estimate/ci_*: the effect on the claim's reporting scale, with the (1 - 2 alpha) interval
    (so a one-sided test at alpha rejects exactly when the interval excludes the threshold).
    p_support: one-sided p of the null the claim must reject (raw).
    p_against: one-sided p of the null whose rejection falsifies the claim (raw).
    power: power of the support test at the design point (the smallest effect of interest for
    directional claims, no effect for bound claims), from the fitted variance.
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
    strata: tuple[Stratum, ...] = ()
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["verdict"] = self.verdict.value
        d["strata"] = [dataclasses.asdict(s) for s in self.strata]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TestResult":
        d = dict(d)
        d["verdict"] = Verdict(d["verdict"])
        d["strata"] = tuple(Stratum(**s) for s in d.get("strata", ()))
        return cls(**d)
