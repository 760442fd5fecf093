"""Two draws of the suite side by side: verdicts, estimates stratum by stratum, interval overlap.

Each estimand is counted once: the strata of a stratified claim (its headline is derived from
them), else its headline; two claims that read the same evidence and report the same numbers (the
O3 pair: bau2017's claim and szegedy2013's contrary) are one estimand. For each, the expected
chance that one draw's estimate falls inside the other's (1 - 2 alpha) interval is computed from
the two intervals' widths and degrees of freedom (the difference of two independent estimates of
the same truth, Welch t), so the observed mutual coverage is read against what the intervals
themselves predict, with its binomial (Wilson) interval: far less means the intervals miss a source
of variance (statistics-notes: a second draw).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from scipy import stats

from benchmark.gate import Point, _alpha, points, read_verdicts
from benchmark.reporting.suite import fmt


@dataclasses.dataclass(frozen=True)
class Pair:
    label: str            # claim id (and stratum)
    first: dict[str, Any]
    second: dict[str, Any]
    p1: Point
    p2: Point
    alpha: float


def _part(entry: dict[str, Any], name: str) -> dict[str, Any]:
    if name == "headline":
        return entry
    return next(s for s in entry.get("strata") or [] if str(s.get("name")) == name)


def _same_evidence(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("evidence_table", "estimate", "n")
    return all(k in a and k in b for k in keys) and all(a[k] == b[k] for k in keys) and (
        a.get("evidence_sha256") == b.get("evidence_sha256"))


def pairs(first: dict[str, dict[str, Any]], second: dict[str, dict[str, Any]]) -> tuple[list[Pair], dict[str, str]]:
    """The estimands both draws have, each once; and claims folded into another (id -> kept id)."""
    out, folded, kept = [], {}, []
    for cid in sorted(set(first) & set(second)):
        twin = next((k for k in kept if _same_evidence(first[k], first[cid]) and _same_evidence(second[k], second[cid])), None)
        if twin is not None:
            folded[cid] = twin
            continue
        kept.append(cid)
        a, b = first[cid], second[cid]
        pb = {p.name: p for p in points(b)}
        for p1 in points(a):
            p2 = pb.get(p1.name)
            if p2 is None:
                continue
            label = cid if p1.name == "headline" else f"{cid} / {p1.name}"
            out.append(Pair(label, _part(a, p1.name), _part(b, p1.name), p1, p2, _alpha(a)))
    return out, folded


def _inside(est: float | None, lo: float | None, hi: float | None) -> bool | None:
    if any(v is None or not isinstance(v, (int, float)) or math.isnan(v) for v in (est, lo, hi)):
        return None
    return lo <= est <= hi


def expected_coverage(p_in: Point, p_other: Point, alpha: float) -> float | None:
    """P(the other draw's estimate falls inside this draw's (1 - 2 alpha) interval), same truth."""
    vals = (p_in.se, p_in.df, p_other.se, p_other.df)
    if any(v is None or not math.isfinite(v) or v <= 0 for v in vals):
        return None
    half = float(stats.t.ppf(1 - alpha, p_in.df)) * p_in.se
    s = math.sqrt(p_in.se ** 2 + p_other.se ** 2)
    num = (p_in.se ** 2 + p_other.se ** 2) ** 2
    df = num / (p_in.se ** 4 / p_in.df + p_other.se ** 4 / p_other.df)
    return float(2 * stats.t.cdf(half / s, df) - 1)


def wilson(hits: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    if total == 0:
        return math.nan, math.nan
    p = hits / total
    d = 1 + z * z / total
    c = (p + z * z / (2 * total)) / d
    h = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / d
    return c - h, c + h


@dataclasses.dataclass(frozen=True)
class Comparison:
    rows: list[str]
    observed: float
    observed_ci: tuple[float, float]
    expected: float
    estimands: int
    verdicts_agree: int
    verdicts_compared: int
    folded: dict[str, str]
    expected_agree: float | None = None  # the sum of the first draw's stabilities


def compare(first: Path, second: Path) -> Comparison:
    a, b = read_verdicts(first).claims, read_verdicts(second).claims
    ps, folded = pairs(a, b)
    rows = ["| estimand | verdict 1 | verdict 2 | estimate 1 [CI] | estimate 2 [CI] | n 1 / n 2 | 2 in 1 | 1 in 2 "
            "| expected |", "|---|---|---|---|---|---|---|---|---|"]
    hits = total = 0
    expected = []
    mark = {True: "yes", False: "no", None: "-"}
    for p in ps:
        x, y = p.first, p.second
        i21 = _inside(y.get("estimate"), x.get("ci_low"), x.get("ci_high"))
        i12 = _inside(x.get("estimate"), y.get("ci_low"), y.get("ci_high"))
        e21, e12 = expected_coverage(p.p1, p.p2, p.alpha), expected_coverage(p.p2, p.p1, p.alpha)
        for v, e in ((i21, e21), (i12, e12)):
            if v is not None and e is not None:
                hits, total = hits + int(v), total + 1
                expected.append(e)
        cid = p.label.split(" / ")[0]
        v1 = a[cid]["verdict"] if " / " not in p.label else (x.get("verdict") or "-")
        v2 = b[cid]["verdict"] if " / " not in p.label else (y.get("verdict") or "-")
        exp_txt = "-" if e21 is None or e12 is None else f"{(e21 + e12) / 2:.2f}"
        rows.append(f"| `{p.label}` | {v1} | {v2} | {fmt(x.get('estimate'))} [{fmt(x.get('ci_low'))}, "
                    f"{fmt(x.get('ci_high'))}] | {fmt(y.get('estimate'))} [{fmt(y.get('ci_low'))}, {fmt(y.get('ci_high'))}] "
                    f"| {x.get('n')} / {y.get('n')} | {mark[i21]} | {mark[i12]} | {exp_txt} |")
    for cid in sorted(set(a) ^ set(b)):
        rows.append(f"| `{cid}` | {a[cid]['verdict'] if cid in a else 'absent'} | "
                    f"{b[cid]['verdict'] if cid in b else 'absent'} | | | | | | |")
    claims = sorted((set(a) & set(b)) - set(folded))
    agree = sum(a[c]["verdict"] == b[c]["verdict"] for c in claims)
    # the first draw's own prediction (its stability: P(a new draw gives the same statistical verdict))
    stab = [a[c]["stability"]["same"] for c in claims if isinstance(a[c].get("stability"), dict)]
    return Comparison(rows, hits / total if total else math.nan, wilson(hits, total),
                      sum(expected) / len(expected) if expected else math.nan, len(ps), agree, len(claims), folded,
                      sum(stab) if len(stab) == len(claims) else None)


def summary_lines(c: Comparison) -> list[str]:
    lo, hi = c.observed_ci
    out = [f"verdicts: {c.verdicts_agree} of {c.verdicts_compared} agree"
           + (f" (the first draw's stabilities predict {c.expected_agree:.1f})" if c.expected_agree is not None else "")
           + (f" ({', '.join(f'{k} counted with {v}' for k, v in sorted(c.folded.items()))}: same evidence, one estimand)"
              if c.folded else ""),
           f"estimands compared: {c.estimands} (every stratum of a stratified claim, else its headline)",
           f"mutual coverage: observed {c.observed:.0%} (95% Wilson interval {lo:.0%}-{hi:.0%}); expected {c.expected:.0%} "
           "from the intervals' own widths and df (two independent draws of the same truth)"]
    return out
