"""The test kinds' params, as the claim language declares them: which params each kind requires and
accepts (any other key in `test.params` is refused), which of them name numeric columns, and each
value's vocabulary (`method: kendall` would otherwise run Pearson under Kendall's name), so a claim
file never says one thing while the test does another. Checked when a claim file is loaded
(benchmark.claims.registry); the tests that run each kind are benchmark.stats.kinds, registered
against these declarations."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from benchmark.claims.spec import ClaimSpec, thresholds
from benchmark.errors import ClaimFileError


@dataclasses.dataclass(frozen=True)
class KindParams:
    numeric: tuple[str, ...]  # params whose values are numeric column names
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()  # accepted besides the required ones; nothing else is
    estimate_range: tuple[float, float] | None = None  # open interval the estimate lives in (rho: -1, 1)

    @property
    def accepted_params(self) -> tuple[str, ...]:
        return self.required + self.optional


PARAMS: dict[str, KindParams] = {
    "replicate_correlation": KindParams(numeric=("x", "y"), required=("x", "y"),
                                         optional=("replicate", "strata", "method", "where", "range"),
                                         estimate_range=(-1.0, 1.0)),
    "trend": KindParams(numeric=("x", "y"), required=("x", "y"),
                        optional=("replicate", "x_scale", "strata", "where", "range", "aggregate")),
    "replicate_mean": KindParams(numeric=("y",), required=("y",), optional=("replicate", "where", "range", "strata")),
    "mean_difference": KindParams(numeric=("y",), required=("y", "group", "treatment", "control"),
                                  optional=("replicate", "strata", "where", "range")),
    "paired_difference": KindParams(numeric=("y",), required=("y", "group", "treatment", "control"),
                                    optional=("replicate", "strata", "where", "range")),
}


COLUMN_PARAMS = ("x", "y", "replicate", "strata", "group")  # params whose value is one column name
CHOICES = {"method": ("spearman", "pearson"), "x_scale": ("linear", "rank"), "aggregate": ("mean", "none")}


def _scalar(v) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool) and (not isinstance(v, float) or math.isfinite(v))


def _values(path, field: str, v) -> list:
    """A param holding one group value or a list of them (treatment, control, where's values)."""
    vals = v if isinstance(v, list) else [v]
    if not vals or not all(_scalar(x) for x in vals):
        raise ClaimFileError(path, field, f"a value or a non-empty list of values (text or finite numbers), got {v!r}")
    if len(set(map(repr, vals))) != len(vals):
        raise ClaimFileError(path, field, f"lists a value twice: {vals}")
    return vals


def _check_column_map(path, field: str, v, declared) -> dict:
    if not isinstance(v, dict) or not v:
        raise ClaimFileError(path, field, f"a mapping of column -> values, got {v!r}")
    for col in v:
        if col not in declared:
            raise ClaimFileError(path, f"{field}.{col}", f"column {col!r} is not declared in evidence.columns")
    return v


def check_params(spec: ClaimSpec, path: str | Path) -> KindParams:
    """The test kind exists; its params are the ones it declares (required present, nothing else),
    column params name declared columns, and every value lies in its vocabulary."""
    kind = PARAMS.get(spec.test.kind)
    if kind is None:
        raise ClaimFileError(path, "test.kind", f"unknown test kind {spec.test.kind!r}; known: {sorted(PARAMS)}")
    p = spec.test.params
    for req in kind.required:
        if req not in p:
            raise ClaimFileError(path, f"test.params.{req}", f"required by test kind {spec.test.kind!r}")
    for key in p:
        if key not in kind.accepted_params:
            raise ClaimFileError(path, f"test.params.{key}", f"not a param of test kind {spec.test.kind!r}; it takes "
                                                            f"{', '.join(kind.accepted_params)}")
    declared = set(spec.evidence.columns)
    for key in COLUMN_PARAMS:
        col = p.get(key, "seed" if key == "replicate" else None)
        if col is None:
            continue
        if not isinstance(col, str):
            raise ClaimFileError(path, f"test.params.{key}", f"one column name, got {col!r}")
        if col not in declared:
            raise ClaimFileError(path, f"test.params.{key}", f"column {col!r} is not declared in evidence.columns")
    for key, choices in CHOICES.items():
        if key in p and p[key] not in choices:
            raise ClaimFileError(path, f"test.params.{key}", f"{p[key]!r} is not one of {', '.join(choices)}")
    for col, allowed in _check_column_map(path, "test.params.where", p["where"], declared).items() if "where" in p else ():
        _values(path, f"test.params.where.{col}", allowed)
    for col, bounds in _check_column_map(path, "test.params.range", p["range"], declared).items() if "range" in p else ():
        ok = (isinstance(bounds, list) and len(bounds) == 2
              and all(b is None or (_scalar(b) and not isinstance(b, str)) for b in bounds))
        if not ok or (None not in bounds and bounds[0] > bounds[1]):
            raise ClaimFileError(path, f"test.params.range.{col}", f"[lo, hi] with lo <= hi (finite numbers or "
                                                                   f"null for an open end), got {bounds!r}")
    if "treatment" in kind.accepted_params:
        treat = _values(path, "test.params.treatment", p["treatment"])
        ctrl = _values(path, "test.params.control", p["control"])
        both = [v for v in treat if v in ctrl]
        if both:
            raise ClaimFileError(path, "test.params.control", f"{both} also in test.params.treatment: a group "
                                                              f"cannot be compared with itself")
    if kind.estimate_range is not None:
        lo, hi = kind.estimate_range
        t = spec.test
        named = {"test.null": ("null", t.null), "test.bound": ("bound", t.bound)}
        if t.sesoi is not None:
            named["test.sesoi"] = (f"null {'+' if t.direction == 'greater' else '-'} sesoi", thresholds(t)[1])
        for field, (name, v) in named.items():
            if v is not None and not lo < v < hi:
                raise ClaimFileError(path, field, f"{name} = {v:g} lies outside ({lo:g}, {hi:g}), where a "
                                                  f"{spec.test.kind} estimate lives")
    _check_estimand(spec, path)
    return kind


def _check_estimand(spec: ClaimSpec, path: str | Path) -> None:
    if spec.test.estimand == "pooled" and spec.test.kind != "replicate_correlation":
        raise ClaimFileError(path, "test.estimand", f"'pooled' is implemented for replicate_correlation only, not "
                                                    f"{spec.test.kind!r}: declare every_stratum, or pool in the evidence table")
