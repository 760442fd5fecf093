"""Number formatting shared by the report's renderers (the suite-level verdicts live in
benchmark.stats.suite: the report only renders)."""

from __future__ import annotations

import math


def fmt(v: float, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    return f"{v:.{digits}g}"
