"""Instrument controls: a probe shows that it finds an effect built in and finds nothing where there is none.

A control is declared before it runs (id, instrument, positive or negative, what it must show and
by what margin) and decided by a one-sided test on its per-replicate values at its alpha, never by
a non-significant result:

* `at_least`: the instrument recovers the built-in effect: the (1 - 2 alpha) interval's lower bound
  lies above `threshold` (positive controls: a planted detector unit found, an ablation that moves
  accuracy where one unit carries the decision);
* `at_most`: the instrument finds (next to) nothing: the interval's upper bound lies below
  `threshold` (negative controls: masks permuted across images, random-init weights, shuffled
  labels; `threshold` is the declared margin);
* `within`: the instrument finds no difference: the interval lies inside +- `threshold` (two
  one-sided tests).

A control whose interval straddles its threshold is inconclusive, and an inconclusive control
counts as failed. One value without spread (a deterministic construction) is compared directly.
Each family measures its controls' values and hands them to `decide_and_write` (`collect` gathers
per-replicate values), which decides them in declaration order and writes
`evidence/controls/<family>.csv` (one row per control); a claim
names the controls its instrument relies on (`controls: [<family>/<control>]`), and
`benchmark.evaluate` makes its verdict `inconclusive (instrument failed its control)` when one
failed or is missing.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from benchmark.errors import EvidenceError
from benchmark.stats import tdist

RULES = ("at_least", "at_most", "within")
COLUMNS = ("control", "instrument", "kind", "expected", "rule", "threshold", "alpha", "estimate", "ci_low", "ci_high",
           "n", "passed", "outcome", "claims_note")


@dataclasses.dataclass(frozen=True)
class Control:
    """A control as declared before it runs."""

    id: str                                   # unique within its family, e.g. "iou.permuted_masks"
    instrument: str                           # e.g. "dissection IoU (top-quantile threshold)"
    kind: Literal["positive", "negative"]
    expected: str                             # what it must show, in words, with the margin's source
    rule: Literal["at_least", "at_most", "within"]
    threshold: float
    alpha: float = 0.05
    note: str = ""                            # e.g. what the measured value means

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"control {self.id}: rule {self.rule!r} not in {RULES}")
        if self.kind not in ("positive", "negative"):
            raise ValueError(f"control {self.id}: kind {self.kind!r} is positive | negative")
        if not (0 < self.alpha < 0.5) or not math.isfinite(self.threshold):
            raise ValueError(f"control {self.id}: alpha in (0, 0.5) and a finite threshold")


@dataclasses.dataclass(frozen=True)
class ControlResult:
    control: Control
    estimate: float
    ci_low: float
    ci_high: float
    n: int
    passed: bool
    outcome: str  # pass | fail | inconclusive (counts as failed)

    def row(self) -> dict[str, Any]:
        c = self.control
        return {"control": c.id, "instrument": c.instrument, "kind": c.kind, "expected": c.expected, "rule": c.rule,
                "threshold": c.threshold, "alpha": c.alpha, "estimate": self.estimate, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "n": self.n, "passed": int(self.passed), "outcome": self.outcome,
                "claims_note": c.note}


def decide(control: Control, values: Iterable[float]) -> ControlResult:
    """The control's outcome from its per-replicate values (module docstring)."""
    v = np.asarray([float(x) for x in values], dtype=float)
    if v.size == 0 or not np.isfinite(v).all():
        return ControlResult(control, math.nan, math.nan, math.nan, int(v.size), False, "inconclusive")
    est = float(v.mean())
    if v.size == 1 or float(v.std(ddof=1)) == 0.0:  # no spread: the value itself decides
        lo = hi = est
    else:
        half = float(tdist.ppf(1 - control.alpha, v.size - 1)) * float(v.std(ddof=1)) / math.sqrt(v.size)
        lo, hi = est - half, est + half
    t = control.threshold
    if control.rule == "at_least":
        ok, bad = lo > t, hi < t
    elif control.rule == "at_most":
        ok, bad = hi < t, lo > t
    else:
        ok, bad = (lo > -t and hi < t), (lo > t or hi < -t)
    outcome = "pass" if ok else ("fail" if bad else "inconclusive")
    return ControlResult(control, est, lo, hi, int(v.size), bool(ok), outcome)


def collect(per_replicate: Iterable[Mapping[str, float]],
            values: dict[str, list[float]] | None = None) -> dict[str, list[float]]:
    """Each replicate's value of each control appended to that control's list, in replicate order
    (into `values` when given, which keeps the controls that got none)."""
    values = {} if values is None else values
    for r in per_replicate:
        for cid, v in r.items():
            values.setdefault(cid, []).append(v)
    return values


def decide_all(declared: Iterable[Control], values: Mapping[str, Sequence[float]]) -> list[ControlResult]:
    """Every declared control decided on its values, in declaration order. A control with no entry
    in `values` is an error (a family that forgot to measure it), not a silent inconclusive; an
    empty list (no replicate ran) is decided, as inconclusive."""
    declared = list(declared)
    missing = [c.id for c in declared if c.id not in values]
    if missing:
        raise ValueError(f"controls without values: {missing}")
    return [decide(c, values[c.id]) for c in declared]


def decide_and_write(family: str, declared: Iterable[Control], values: Mapping[str, Sequence[float]],
                     root: Path | None = None) -> tuple[list[ControlResult], Path]:
    """The controls step's end, the same for every family: decide every declared control
    (`decide_all`), write the family's table (`write`) and print one line per control."""
    results = decide_all(declared, values)
    path = write(family, results, root)
    for r in results:
        print(f"{r.outcome:12s} {r.control.id:40s} {r.estimate:9.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] n {r.n}")
    print(f"wrote {len(results)} controls to {path}")
    return results, path


def controls_path(family: str, root: Path | None = None) -> Path:
    from benchmark.paths import project_root

    return (root or project_root()) / "evidence" / "controls" / f"{family}.csv"


def write(family: str, results: Iterable[ControlResult], root: Path | None = None) -> Path:
    """The family's controls table (atomic); ids must be unique."""
    from benchmark.atomic import write_csv

    rows = [r.row() for r in results]
    ids = [r["control"] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{family}: control ids repeat: {sorted(i for i in ids if ids.count(i) > 1)}")
    path = controls_path(family, root)
    write_csv(path, pd.DataFrame(rows, columns=list(COLUMNS)))
    return path


@dataclasses.dataclass(frozen=True)
class ControlOutcome:
    """A control as a claim sees it: its id, and its row (None when missing)."""

    id: str
    row: dict[str, Any] | None

    @property
    def passed(self) -> bool:
        return bool(self.row is not None and int(self.row["passed"]) == 1)

    def describe(self) -> str:
        if self.row is None:
            return f"{self.id} (not run: no row in evidence/controls/)"
        r = self.row
        return (f"{self.id} ({r['instrument']}, {r['kind']} control: expected {r['expected']}; measured "
                f"{r['estimate']:.3g} [{r['ci_low']:.3g}, {r['ci_high']:.3g}], {r['outcome']})")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "passed": self.passed, **({k: _plain(v) for k, v in self.row.items()} if self.row else
                                                            {"outcome": "missing"})}


def _plain(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def outcomes(ids: Iterable[str], root: Path | None = None) -> tuple[ControlOutcome, ...]:
    """The named controls' rows from their families' tables (missing ones have row None)."""
    from benchmark.stats.evidence import read_table

    tables: dict[str, pd.DataFrame | None] = {}
    out = []
    for cid in ids:
        family, name = cid.split("/", 1)
        if family not in tables:
            path = controls_path(family, root)
            tables[family] = read_table(path) if path.is_file() else None
            if tables[family] is not None:
                missing = [c for c in COLUMNS if c not in tables[family].columns]
                if missing:
                    raise EvidenceError(path, missing[0], "column missing from a controls table")
        t = tables[family]
        rows = t[t["control"] == name] if t is not None else None
        out.append(ControlOutcome(cid, rows.iloc[0].to_dict() if rows is not None and len(rows) else None))
    return tuple(out)
