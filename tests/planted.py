"""Evidence tables with a planted answer, shaped like a claim's real table, for any test kind.

Scenarios: `claimed` (a strong effect in the claimed direction), `contrary` (a strong effect the
other way / beyond the bound), `none` (no effect, ample data), `scarce` (fewer replicates than
the claim requires). The claim's own TestSpec decides what each should yield.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from benchmark.claims.spec import ClaimSpec
from benchmark.stats.result import Verdict

SCENARIOS = ("claimed", "contrary", "none", "scarce")


def effect(spec: ClaimSpec, scenario: str) -> float:
    t = spec.test
    if t.form == "equivalence":  # claimed: no difference; contrary: well beyond the margin
        return {"claimed": t.null, "contrary": t.null + 3 * t.margin, "none": t.null, "scarce": t.null}[scenario]
    sign = 1.0 if t.direction == "greater" else -1.0
    if t.form == "directional":
        return {"claimed": t.null + sign * 4 * t.sesoi, "contrary": t.null - sign * 4 * t.sesoi,
                "none": t.null, "scarce": t.null + sign * 4 * t.sesoi}[scenario]
    d = abs(t.bound - t.null)
    # the claim puts the effect on the `direction` side of the bound
    return {"claimed": t.null + sign * 2 * d, "contrary": t.bound - sign * 2 * d,
            "none": t.null, "scarce": t.null + sign * 2 * d}[scenario]


def expected(spec: ClaimSpec, scenario: str) -> Verdict:
    if scenario == "scarce":
        return Verdict.INCONCLUSIVE
    if scenario == "none":
        return Verdict.REPRODUCED if spec.test.form in ("bound", "equivalence") else Verdict.FALSIFIED
    return Verdict.REPRODUCED if scenario == "claimed" else Verdict.FALSIFIED


def _scale(spec: ClaimSpec) -> float:
    t = spec.test
    if t.form == "equivalence":
        return t.margin
    return t.sesoi if t.form == "directional" else abs(t.bound - t.null)


def _fill(rows: list[dict], spec: ClaimSpec, used: set[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    p = spec.test.params
    for col, allowed in (p.get("where") or {}).items():
        allowed = allowed if isinstance(allowed, list) else [allowed]
        if col == p.get("strata") and col in frame.columns and frame[col].nunique() <= len(allowed):
            levels = sorted(frame[col].unique())  # strata filtered by `where`: one allowed value each
            frame[col] = frame[col].map(dict(zip(levels, allowed)))
        else:
            frame[col] = allowed[0]
        used.add(col)
    for col, (lo, hi) in (p.get("range") or {}).items():  # rows the claim's filter keeps (e.g. units that fire)
        if col not in frame.columns:
            frame[col] = lo if lo is not None else (hi if hi is not None else 0.0)
            used.add(col)
    for pre in spec.preconditions:  # the instrument works: every replicate passes its preconditions
        if pre.column not in frame.columns:  # (at the threshold, or just past it: inside any domain)
            frame[pre.column] = pre.threshold + {">": 1e-6, "<": -1e-6}.get(pre.op, 0.0)
    generated = set(frame.columns)
    for col in spec.evidence.columns:
        if col not in frame.columns:
            frame[col] = 0
    return _fit_declarations(frame, spec, generated)


def _fit_declarations(frame: pd.DataFrame, spec: ClaimSpec, generated: set[str]) -> pd.DataFrame:
    """Make the planted table obey the claim's evidence.key and evidence.domains without changing
    the answer: key columns the builder did not generate number the rows within the others;
    a ranged column is shifted into its range (slopes and correlations do not move), or, for
    rank correlations, squashed monotonically; a filler column takes a value inside its range."""
    ev, t = spec.evidence, spec.test
    missing_key = [c for c in ev.key if c not in generated]
    present_key = [c for c in ev.key if c in generated]
    for col in missing_key:
        frame[col] = frame.groupby(present_key).cumcount() if present_key else np.arange(len(frame))
        present_key.append(col)
    for col, dom in ev.domains.items():
        if isinstance(dom, str):  # integer, count, binary: fillers (0) and generated ids fit
            v = frame[col].to_numpy(float)
            if col in generated and dom in ("integer", "count") and not np.all(v == np.round(v)) \
                    and t.kind == "replicate_correlation" and t.params.get("method", "spearman") == "spearman":
                frame[col] = np.round((v - v.min()) * 10).astype(int)  # monotone: ranks kept (up to ties)
            continue
        lo = -np.inf if dom[0] is None else dom[0]
        hi = np.inf if dom[1] is None else dom[1]
        v = frame[col].to_numpy(float)
        if col not in generated:
            frame[col] = lo if np.isfinite(lo) else (hi if np.isfinite(hi) else 0.0)
            continue
        if ((v >= lo) & (v <= hi)).all():
            continue
        if col in (t.params.get("x"), t.params.get("y")) and t.kind in ("trend", "replicate_correlation") \
                and v.max() - v.min() <= hi - lo:
            start = lo if np.isfinite(lo) else hi - (v.max() - v.min())
            frame[col] = v - v.min() + start  # a shift: slopes and correlations unchanged
        elif col == t.params.get("y") and t.kind in ("mean_difference", "paired_difference") \
                and v.max() - v.min() <= hi - lo:
            start = lo if np.isfinite(lo) else hi - (v.max() - v.min())
            frame[col] = v - v.min() + start  # a shift of both arms: differences unchanged
        elif t.kind == "replicate_correlation" and t.params.get("method", "spearman") == "spearman":
            frame[col] = lo + (hi - lo) / (1 + np.exp(-v))  # monotone: ranks unchanged
        else:
            raise NotImplementedError(f"planted values of {col!r} leave its declared domain {dom}: fit them in tests/planted.py")
    return frame


def _strata(t, levels=None) -> list:
    """The strata a planted table holds: the claim's declared ones at the scale (every one must be present)."""
    if not t.params.get("strata"):
        return [None]
    levels = levels if levels is not None else t.strata_levels
    return list(levels) if levels else [0, 1]


def planted_table(spec: ClaimSpec, scenario: str, seed: int = 0, scale: str = "embedded") -> pd.DataFrame:
    t, p = spec.test, spec.test.params
    strata_levels = spec.strata_levels_at(scale)
    rng = np.random.default_rng(seed)
    e = effect(spec, scenario)
    rep = p.get("replicate", "seed")
    n_rep = max(1, t.min_replicates - 1) if scenario == "scarce" else max(t.min_replicates, 30)
    s = _scale(spec)
    rows: list[dict] = []
    if t.kind == "replicate_correlation":
        strata = _strata(t, strata_levels)
        e = max(-0.9, min(0.9, e))
        for r in range(n_rep):
            for st in strata:
                x = rng.normal(size=200)
                y = e * x + math.sqrt(1 - e * e) * rng.normal(size=200)
                for a, b in zip(x, y):
                    row = {rep: r, p["x"]: a, p["y"]: b}
                    if st is not None:
                        row[p["strata"]] = st
                    rows.append(row)
    elif t.kind == "trend":
        lo, hi = ((p.get("range") or {}).get(p["x"]) or [None, None])
        lo = 0.0 if lo is None else float(lo)
        hi = lo + 1.0 if hi is None else float(hi)
        levels = np.linspace(lo, hi, 6)
        per_level = max(1, math.ceil(n_rep / len(levels))) if scenario != "scarce" else 0
        strata = _strata(t, strata_levels)
        work = np.arange(len(levels), dtype=float) if p.get("x_scale") == "rank" else levels
        if scenario == "scarce":  # fewer networks in all than required
            pairs = [(i % len(levels), i) for i in range(max(1, t.min_replicates - 1))]
        else:
            pairs = [(li, k) for li in range(len(levels)) for k in range(per_level)]
        for st in strata:
            for li, k in pairs:
                row = {rep: k, p["x"]: levels[li], p["y"]: e * work[li] + rng.normal(0, 0.05 * s)}
                if st is not None:
                    row[p["strata"]] = st
                rows.append(row)
    elif t.kind == "replicate_mean":
        # several rows per replicate only where the declared key has a column to tell them apart
        own = {rep, p.get("strata"), *(p.get("where") or {})}
        per_rep = 3 if (not spec.evidence.key or any(c not in own for c in spec.evidence.key)) else 1
        for st in _strata(t, strata_levels):
            for r in range(n_rep):
                for _ in range(per_rep):
                    row = {rep: r, p["y"]: e + rng.normal(0, 0.2 * s)}
                    if st is not None:
                        row[p["strata"]] = st
                    rows.append(row)
    elif t.kind == "mean_difference":
        treat = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
        ctrl = p["control"] if isinstance(p["control"], list) else [p["control"]]
        per_arm = max(1, (t.min_replicates - 1) // 2) if scenario == "scarce" else n_rep  # n counts both arms
        for st in _strata(t, strata_levels):
            for r in range(per_arm):
                for g, shift in ((treat[0], e), (ctrl[0], 0.0)):
                    row = {rep: r, p["group"]: g, p["y"]: shift + rng.normal(0, 0.2 * s)}
                    if st is not None:
                        row[p["strata"]] = st
                    rows.append(row)
    elif t.kind == "paired_difference":
        # every replicate at both sides (e.g. one seed at alpha -1 and 0); its own level varies
        # widely between replicates, its difference only a little: what pairing is for
        treat = p["treatment"] if isinstance(p["treatment"], list) else [p["treatment"]]
        ctrl = p["control"] if isinstance(p["control"], list) else [p["control"]]
        # several rows per side only where the declared key has a column to tell them apart
        own = {rep, p["group"], p.get("strata")}
        per_side = 2 if (not spec.evidence.key or any(c not in own for c in spec.evidence.key)) else 1
        for st in _strata(t, strata_levels):
            for r in range(n_rep):
                level = rng.normal(0, 5 * s)
                for g, shift in [(v, e) for v in treat] + [(v, 0.0) for v in ctrl]:
                    for _ in range(per_side):  # several rows per replicate and side (layers, conditions)
                        row = {rep: r, p["group"]: g, p["y"]: level + shift + rng.normal(0, 0.2 * s)}
                        if st is not None:
                            row[p["strata"]] = st
                        rows.append(row)
    else:
        raise NotImplementedError(f"no planted-evidence builder for test kind {t.kind!r}: add one in tests/planted.py")
    return _fill(rows, spec, set())
