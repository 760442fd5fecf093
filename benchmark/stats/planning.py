"""Power analysis from pilot evidence: how many replicates a claim needs.

The pilot's standard error is projected to n replicates as se * sqrt(n_pilot / n) (the design
grows proportionally: more seeds per condition), and the power of the claim's support test at its
design point is recomputed for each n. Pilot seeds must be disjoint from the seeds the verdict
uses, so choosing n never looks at the verdict's data.

Two powers per n: that of the support test alone (`power_at`), and the probability that the
verdict comes out `reproduced` at the design point (`verdict_power_at`), which is lower because
the verdict rule also requires the power estimated from the data to reach the target (see
`benchmark.stats.power.verdict_power`; measured by the calibration stage). `needed_n_verdict` is
the n to choose when the declared power is meant as the chance of a `reproduced` verdict.
"""

from __future__ import annotations

import dataclasses
import math

from benchmark.claims.spec import TestSpec
from benchmark.stats.decide import TRANSFORMS
from benchmark.stats.decide import design_distance_w, reproduced_power, support_power
from benchmark.stats.result import TestResult


@dataclasses.dataclass(frozen=True)
class Plan:
    pilot_n: int
    pilot_se: float  # working scale
    needed_n: int | None
    power_at: dict[int, float]
    needed_n_verdict: int | None = None
    verdict_power_at: dict[int, float] = dataclasses.field(default_factory=dict)


def plan(pilot: TestResult, spec: TestSpec, working_se: float, df_offset: int = 1, max_n: int = 200) -> Plan:
    to_w, _ = TRANSFORMS["fisher_z" if pilot.kind == "replicate_correlation" else "identity"]
    distance = design_distance_w(spec, to_w)
    # a claim that must hold in every stratum (intersection-union) needs every stratum to reject:
    # power = per-stratum power ** k, n counted per stratum (strata are independent networks)
    k = len(pilot.strata) if pilot.estimand == "every_stratum" else 1
    power_at, needed, verdict_at, needed_verdict = {}, None, {}, None
    # df scales with replicates: keep the pilot's df per replicate ratio
    df_per_rep = pilot.df / pilot.n if pilot.n else 1.0
    for n in range(2, max_n + 1):
        se = working_se * math.sqrt(pilot.n / n)
        df = max(1.0, df_per_rep * n)
        pw = support_power(spec, distance, se, df) ** k
        power_at[n] = pw
        if needed is None and pw >= spec.power:
            needed = n
        if n <= 50 or needed_verdict is None:
            # per stratum against power ** (1/k): slightly conservative for the gate on the product
            vp = reproduced_power(spec, distance, se, df) ** k
            verdict_at[n] = vp
            if needed_verdict is None and n >= spec.min_replicates and vp >= spec.power:
                needed_verdict = n
    return Plan(pilot.n, working_se, needed, power_at, needed_verdict, verdict_at)
