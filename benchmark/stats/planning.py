"""Power analysis from pilot evidence: how many replicates a claim needs.

The pilot's standard error is projected to n replicates as se * sqrt(n_pilot / n) (the design
grows proportionally: more seeds per condition), and the power of the claim's support test at its
design point is recomputed for each n. Pilot seeds must be disjoint from the seeds the verdict
uses, so choosing n never looks at the verdict's data.
"""

from __future__ import annotations

import dataclasses
import math

from benchmark.claims.spec import TestSpec
from benchmark.stats.decide import TRANSFORMS
from benchmark.stats.power import one_sided_t_power
from benchmark.stats.result import TestResult


@dataclasses.dataclass(frozen=True)
class Plan:
    pilot_n: int
    pilot_se: float  # working scale
    needed_n: int | None
    power_at: dict[int, float]


def plan(pilot: TestResult, spec: TestSpec, working_se: float, df_offset: int = 1, max_n: int = 200) -> Plan:
    to_w, _ = TRANSFORMS["fisher_z" if pilot.kind == "replicate_correlation" else "identity"]
    if spec.form == "directional":
        sign = 1 if spec.direction == "greater" else -1
        distance = abs(to_w(spec.null + sign * spec.sesoi) - to_w(spec.null))
    else:
        distance = abs(to_w(spec.bound) - to_w(spec.null))
    power_at, needed = {}, None
    # df scales with replicates: keep the pilot's df per replicate ratio
    df_per_rep = pilot.df / pilot.n if pilot.n else 1.0
    for n in range(2, max_n + 1):
        se = working_se * math.sqrt(pilot.n / n)
        pw = one_sided_t_power(distance, se, max(1.0, df_per_rep * n), spec.alpha)
        power_at[n] = pw
        if needed is None and pw >= spec.power:
            needed = n
    return Plan(pilot.n, working_se, needed, power_at)
