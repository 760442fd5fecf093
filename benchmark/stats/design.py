"""A claim's design, checked before its verdict's data exist: power and precision from the pilot.

The claim file fixes, per scale, the replicates and the pilot (seeds disjoint from the verdict's)
that sized them. The pilot's standard error is projected to the design's replicates as
se * sqrt(n_pilot / replicates) (df grows in proportion), giving:
* the design's power: of the support test at the design point (`null + sesoi`, or no effect for
  a bound claim), raised to the number of strata for claims that must hold in every stratum;
* the design's half-width: of the (1 - 2 alpha) interval, against the target precision
  (`test.precision`, default half the distance between the null and the design point, so that
  the verdict is inconclusive only when the truth lies near the threshold).
`claims validate` fails a design that misses either; the report shows both beside the observed
sensitivity. A scale may instead declare itself `undecidable` (the replicates a decision needs are
beyond its budget): its verdict is always `inconclusive` and validate checks the declaration
against the pilot, so that no design is under-powered by construction while claiming to decide.
Nothing here reads the verdict's evidence.
"""

from __future__ import annotations

import dataclasses
import math


from benchmark.stats import tdist
from benchmark.claims.spec import ClaimSpec, TestSpec
from benchmark.stats.decide import TRANSFORMS, design_distance_w, support_power


def working_transform(kind: str) -> str:
    """The scale on which a kind's estimate is approximately t-distributed."""
    return "fisher_z" if kind == "replicate_correlation" else "identity"


def design_distance(spec: TestSpec) -> float:
    """Distance between the support test's null and the design point, on the working scale."""
    return design_distance_w(spec, TRANSFORMS[working_transform(spec.kind)][0])


def precision_target(spec: TestSpec) -> float:
    """Target half-width on the working scale (the claim's `precision`, or half the distance)."""
    if spec.precision is None:
        return design_distance(spec) / 2
    to_w = TRANSFORMS[working_transform(spec.kind)][0]
    return abs(to_w(spec.null + spec.precision) - to_w(spec.null))


@dataclasses.dataclass(frozen=True)
class DesignCheck:
    scale: str
    replicates: int
    se: float            # projected, working scale
    df: float
    power: float         # of the support test at the design point (product over strata)
    half_width: float    # projected (1 - 2 alpha) half-width, working scale
    precision: float     # target half-width, working scale
    problems: tuple[str, ...]
    undecidable: str | None = None  # the scale's declaration (its verdict is always inconclusive)
    needed: int | None = None       # replicates the pilot says a decision needs (None: over 2000)

    @property
    def ok(self) -> bool:
        return not self.problems


def project(spec: TestSpec, se: float, n: int, df: float, strata: int, replicates: int) -> tuple[float, float, float, float]:
    """(se, df, power, half-width) of a design with `replicates`, from a pilot (se, n, df)."""
    se_n = se * math.sqrt(n / replicates)
    df_n = max(1.0, df / n * replicates)
    power = support_power(spec, design_distance(spec), se_n, df_n) ** strata
    half = float(tdist.ppf(1 - spec.alpha, df_n)) * se_n
    return se_n, df_n, power, half


def check_design(claim: ClaimSpec, scale: str = "embedded") -> DesignCheck | None:
    """The design at `scale` (None when the scale declares no pilot)."""
    setting = claim.scales.get(scale)
    if setting is None or setting.pilot is None:
        return None
    pilot, spec = setting.pilot, claim.test
    df = pilot.df if pilot.df is not None else pilot.n - 1
    se, df_n, power, half = project(spec, pilot.se, pilot.n, df, pilot.strata, setting.replicates)
    target = precision_target(spec)
    problems = []
    if setting.undecidable:
        needed = replicates_needed(spec, pilot.se, pilot.n, df, pilot.strata)
        if needed is not None and needed <= setting.replicates:
            problems.append(f"declared undecidable, but the pilot says {needed} replicates decide "
                            f"(<= {setting.replicates}): size the design instead")
        return DesignCheck(scale, setting.replicates, se, df_n, power, half, target, tuple(problems),
                           setting.undecidable, needed)
    if power < spec.power:
        problems.append(f"design power {power:.3f} < required {spec.power} at {setting.replicates} replicates")
    if half > target * (1 + 1e-9):
        problems.append(f"design half-width {half:.4g} > target precision {target:.4g} (working scale) "
                        f"at {setting.replicates} replicates")
    if setting.replicates < spec.min_replicates:
        problems.append(f"replicates {setting.replicates} < min_replicates {spec.min_replicates}")
    return DesignCheck(scale, setting.replicates, se, df_n, power, half, target, tuple(problems))


def replicates_needed(spec: TestSpec, se: float, n: int, df: float, strata: int = 1, max_n: int = 2000) -> int | None:
    """Smallest replicates reaching both the required power and the target precision."""
    target = precision_target(spec)
    for m in range(max(2, spec.min_replicates), max_n + 1):
        _, _, power, half = project(spec, se, n, df, strata, m)
        if power >= spec.power and half <= target:
            return m
    return None
