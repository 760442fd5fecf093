"""The instrument's declared checks (claim file `preconditions:`), read from the evidence table.

Each check reduces its column within every replicate (max, min or mean) and must hold for every
replicate: a claim about door units presupposes door units in every generator. A check that fails
makes the verdict `inconclusive`, never `falsified` (statistics-notes: the instrument must work
before it can falsify).
"""

from __future__ import annotations

import math
import operator

import pandas as pd

from benchmark.claims.spec import ClaimSpec
from benchmark.stats.result import PreconditionResult

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


def check_preconditions(frame: pd.DataFrame, spec: ClaimSpec) -> tuple[PreconditionResult, ...]:
    """One result per declared check; `frame` is the validated evidence table (before filters).

    A `drop` check passes when at least `min_replicates` replicates pass it (the others are left
    out of the test by `drop_failing`); an `inconclusive` check passes when every replicate does."""
    rep = spec.test.params.get("replicate", "seed")
    out = []
    for pre in spec.preconditions:
        values = pd.to_numeric(frame[pre.column], errors="coerce")
        per_rep = values.groupby(frame[rep], sort=True).agg(pre.reduce) if rep in frame.columns else values.agg([pre.reduce])
        holds = per_rep.map(lambda v: bool(math.isfinite(v) and OPS[pre.op](v, pre.threshold)))
        failing = tuple(str(k) for k, ok in holds.items() if not ok)
        if len(per_rep) == 0:
            weakest = math.nan
        else:
            # the replicate furthest on the wrong side of the threshold
            weakest = float(per_rep.min() if pre.op in (">", ">=") else per_rep.max())
        if pre.on_fail == "drop":
            passed = bool(len(per_rep) - len(failing) >= spec.test.min_replicates)
            kept = per_rep[[k not in set(failing) for k in map(str, per_rep.index)]]
            if len(kept):  # the weakest replicate that stays in the test
                weakest = float(kept.min() if pre.op in (">", ">=") else kept.max())
        else:
            passed = bool(len(per_rep) > 0 and not failing)
        out.append(PreconditionResult(pre.name, pre.column, weakest, pre.op, float(pre.threshold),
                                      passed=passed, failing=failing, on_fail=pre.on_fail))
    return tuple(out)


def drop_failing(frame: pd.DataFrame, spec: ClaimSpec, checks: tuple[PreconditionResult, ...]) -> pd.DataFrame:
    """The rows of replicates that pass every `drop` check."""
    rep = spec.test.params.get("replicate", "seed")
    dropped = {r for c in checks if c.on_fail == "drop" for r in c.failing}
    if not dropped or rep not in frame.columns:
        return frame
    return frame[~frame[rep].astype(str).isin(dropped)]
