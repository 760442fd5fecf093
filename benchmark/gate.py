"""The claim-regression gate: compare fresh verdicts with the committed baseline.

A verdict word alone does not catch a broken probe: when single-unit ablation was disabled, M1 went
from 12 networks to none, with estimate NaN, and the gate passed because its baseline verdict was
already `inconclusive`. So for every baseline claim the gate FAILS (exit 1) on:

* a verdict change (with --only-regressions: only reproduced -> something else);
* a version change (the baseline is for another definition: update it deliberately), or a claim gone;
* replicates below the claim's design (`replicates_design`; where neither side records it, below
  the baseline's n), or a verdict resting on no replicates at all (n = 0);
* an estimate or interval bound that became NaN;
* a reason that changed category with the verdict unchanged, e.g. from `overlap` (the interval
  overlaps both the claim and its contrary) to `too_little_evidence` or `precondition_failed`;
  with the verdict changed, the verdict rule above decides.

It WARNS, without failing, when the estimate leaves the baseline's interval (the evidence moved,
the verdict did not). Fields missing on either side (older reports) are unknown: the checks that
need them are skipped and said so, never assumed to pass silently.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from benchmark.atomic import read_json, write_json
from benchmark.errors import BenchmarkError

# reason categories (TestResult.reason_code); older reports only have the sentence, mapped here
REASON_CODES = ("supported", "contrary", "overlap", "too_little_evidence", "undefined",
                "precondition_failed", "manipulation_failed", "undecidable")
_REASON_TEXT = (  # (sentence fragment, code), first match wins
    ("not decidable at", "undecidable"),
    ("manipulation failed", "manipulation_failed"),
    ("precondition failed", "precondition_failed"),
    ("statistic is undefined", "undefined"),
    ("too little evidence", "too_little_evidence"),
    ("under-powered", "under_powered"),  # the runtime power gate of reports before core
    ("overlaps", "overlap"),
    ("significantly in the claimed direction", "supported"),
    ("significantly inside the bound", "supported"),
    ("significant but smaller", "contrary"),
    ("significantly smaller", "contrary"),
    ("significantly beyond", "contrary"),
)
STORED = ("claim_id", "version", "verdict", "reason_code", "reason", "n", "replicates_design",
          "estimate", "ci_low", "ci_high", "ci_level")


def reason_code(entry: dict[str, Any]) -> str | None:
    code = entry.get("reason_code")
    if code:
        return str(code)
    text = entry.get("reason")
    if not isinstance(text, str):
        return None
    for fragment, c in _REASON_TEXT:
        if fragment in text:
            return c
    return None


def _verdicts(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        raise BenchmarkError(f"{path}: not found")
    try:
        data = read_json(path)
    except ValueError as exc:
        raise BenchmarkError(f"{path}: not valid JSON ({exc})") from None
    entries = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BenchmarkError(f"{path}: field 'claims': expected a list of {{claim_id, version, verdict}}")
    out = {}
    for i, e in enumerate(entries):
        for key in ("claim_id", "version", "verdict"):
            if key not in e:
                raise BenchmarkError(f"{path}: field 'claims[{i}].{key}': missing")
        out[e["claim_id"]] = e
    return out


def _num(entry: dict[str, Any], key: str) -> float | None:
    """A number, NaN included; None when absent or not a number (unknown)."""
    v = entry.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _isnan(v: float | None) -> bool:
    return v is not None and math.isnan(v)


def _fmt(v: float | None) -> str:
    return "?" if v is None else f"{v:.4g}"


def check_claim(cid: str, b: dict[str, Any], c: dict[str, Any], only_regressions: bool = False
                ) -> tuple[list[str], list[str], list[str]]:
    """(failures, warnings, unknowns) for one claim present in both files with the same version."""
    fails, warns, unknown = [], [], []
    verdict_changed = c["verdict"] != b["verdict"]
    verdict_fails = verdict_changed and (b["verdict"] == "reproduced" or not only_regressions)
    if verdict_changed:
        (fails if verdict_fails else warns).append(f"verdict {b['verdict']} -> {c['verdict']}")

    n, n_base = _num(c, "n"), _num(b, "n")
    design = _num(c, "replicates_design") or _num(b, "replicates_design")
    # a design sized per stratum (claim file scales.<scale>.strata) is checked stratum by stratum
    by_stratum = c.get("replicates_design_strata") or b.get("replicates_design_strata")
    # replicates a declared `on_fail: drop` precondition left out were produced as designed: they
    # count towards the design (the precondition itself reports them); n = 0 still fails
    dropped = _num(c, "replicates_dropped") or 0
    if n is None:
        unknown.append("n")
    elif n == 0 or math.isnan(n):
        fails.append("the verdict rests on no replicates (n = 0)")
    elif by_stratum:
        have = {s.get("name"): _num(s, "n") for s in c.get("strata") or []}
        for name, want in sorted(by_stratum.items()):
            got = have.get(name)
            if got is None or math.isnan(got):
                fails.append(f"stratum {name!r} is absent (the design has {want:g} replicates in it)")
            elif got + dropped < want:
                fails.append(f"stratum {name!r}: {got:g} replicates < {want:g} in the claim's design")
    elif design is not None and n + dropped < design:
        fails.append(f"{n:g} replicates{f' (+ {dropped:g} left out by a precondition)' if dropped else ''} "
                     f"< {design:g} in the claim's design")
    elif design is None and n_base is not None and n < n_base:
        fails.append(f"{n:g} replicates < {n_base:g} in the baseline (the design is not recorded)")
    if design is None:
        unknown.append("replicates_design")

    for key in ("estimate", "ci_low", "ci_high"):
        v, vb = _num(c, key), _num(b, key)
        if v is None:
            unknown.append(key)
        elif math.isnan(v):
            if _isnan(vb):
                warns.append(f"{key} is NaN, as in the baseline")
            else:
                fails.append(f"{key} became NaN (baseline {_fmt(vb)})")

    code, code_base = reason_code(c), reason_code(b)
    if code is None or code_base is None:
        unknown.append("reason_code")
    elif code != code_base:
        line = f"reason changed category: {code_base} -> {code} ({c.get('reason', '?')})"
        # with the verdict unchanged, a new category is a change nobody asked for; with the
        # verdict changed, it explains that change and the verdict rule decides
        (fails if verdict_fails or not verdict_changed else warns).append(line)

    est, lo, hi = _num(c, "estimate"), _num(b, "ci_low"), _num(b, "ci_high")
    if est is not None and lo is not None and hi is not None and not any(map(math.isnan, (est, lo, hi))):
        if not lo <= est <= hi:
            warns.append(f"estimate {_fmt(est)} left the baseline's interval [{_fmt(lo)}, {_fmt(hi)}] "
                         f"(baseline estimate {_fmt(_num(b, 'estimate'))})")
    return fails, warns, unknown


def compare(baseline: Path, current: Path, only_regressions: bool = False) -> tuple[bool, list[str]]:
    base, cur = _verdicts(baseline), _verdicts(current)
    lines, ok = [], True
    for cid, b in sorted(base.items()):
        c = cur.get(cid)
        if c is None:
            ok = False
            lines.append(f"FAIL {cid}: in the baseline ({b['verdict']}) but gone from the current verdicts")
            continue
        if c["version"] != b["version"]:
            ok = False
            lines.append(f"FAIL {cid}: version {b['version']} -> {c['version']}; update the baseline deliberately")
            continue
        fails, warns, unknown = check_claim(cid, b, c, only_regressions)
        ok = ok and not fails
        for f in fails:
            lines.append(f"FAIL {cid}: {f}")
        if not fails:
            note = f" (not checked, missing: {', '.join(unknown)})" if unknown else ""
            lines.append(f"ok   {cid}: {c['verdict']}, n {_fmt(_num(c, 'n'))}{note}")
        for w in warns:
            lines.append(f"warn {cid}: {w}")
    for cid in sorted(set(cur) - set(base)):
        lines.append(f"new  {cid}: {cur[cid]['verdict']} (not in the baseline)")
    return ok, lines


def write_baseline(current: Path, baseline: Path) -> None:
    """Store what the gate's checks need, per claim; the reason's category is derived from the
    sentence where the report has no reason_code."""
    cur = _verdicts(current)
    entries = []
    for cid, e in sorted(cur.items()):
        entry = {k: e[k] for k in STORED if k in e}
        code = reason_code(e)
        if code is not None:
            entry["reason_code"] = code
        entries.append(entry)
    write_json(baseline, {"claims": entries})
