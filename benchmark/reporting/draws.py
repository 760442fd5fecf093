"""Two draws of the suite side by side: verdicts, estimates, intervals, and interval overlap.

Two independent estimates with (1 - 2 alpha) = 90% intervals of equal width fall inside each
other's interval about 75% of the time (|Z| < 1.645 / sqrt 2); far less means the intervals miss
a source of variance (statistics-notes: a second draw).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmark.atomic import read_json
from benchmark.errors import BenchmarkError
from benchmark.reporting.suite import fmt


def _entries(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise BenchmarkError(f"{path}: not found")
    data = read_json(path)
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        raise BenchmarkError(f"{path}: field 'claims': expected a list")
    return {e["claim_id"]: e for e in claims}


def _inside(est: float, lo: float, hi: float) -> bool | None:
    if any(math.isnan(v) for v in (est, lo, hi)):
        return None
    return lo <= est <= hi


def compare(first: Path, second: Path) -> tuple[list[str], float]:
    """Markdown table rows and the share of estimates inside the other draw's interval."""
    a, b = _entries(first), _entries(second)
    rows = ["| claim | verdict 1 | verdict 2 | estimate 1 [90% CI] | estimate 2 [90% CI] | n 1 / n 2 | 2 in 1 | 1 in 2 |",
            "|---|---|---|---|---|---|---|---|"]
    hits, total = 0, 0
    for cid in sorted(set(a) | set(b)):
        x, y = a.get(cid), b.get(cid)
        if x is None or y is None:
            rows.append(f"| `{cid}` | {x['verdict'] if x else 'absent'} | {y['verdict'] if y else 'absent'} | | | | | |")
            continue
        i21 = _inside(y["estimate"], x["ci_low"], x["ci_high"])
        i12 = _inside(x["estimate"], y["ci_low"], y["ci_high"])
        for v in (i21, i12):
            if v is not None:
                hits, total = hits + int(v), total + 1
        mark = {True: "yes", False: "no", None: "-"}
        rows.append(f"| `{cid}` | {x['verdict']} | {y['verdict']} | {fmt(x['estimate'])} [{fmt(x['ci_low'])}, "
                    f"{fmt(x['ci_high'])}] | {fmt(y['estimate'])} [{fmt(y['ci_low'])}, {fmt(y['ci_high'])}] "
                    f"| {x['n']} / {y['n']} | {mark[i21]} | {mark[i12]} |")
    return rows, (hits / total if total else math.nan)
