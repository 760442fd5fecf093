"""The claim-regression gate: compare fresh verdicts with the committed baseline of their machine class.

Float rounding differs between CPU classes and sends training down another path, so the same code
gives other estimates on another class (never identical, less far apart than a new draw). A gate
that fails without a change teaches people to ignore it; one that passes a broken probe is worse.
So the baseline records the machine class that produced it (`benchmark.tracking.machine`) and, per
claim and stratum, the estimate, interval, standard error and df; `reports/baselines/` keeps one
baseline per machine class the project has seen, and the gate chooses its mode:

* **exact** (a baseline of the current verdicts' class exists): on one class the same code gives
  the same bytes, so any change of verdict, n, NaN or reason category fails, and so does an estimate
  or standard error (headline or stratum) that moved beyond a numerical tolerance.
* **statistical** (no baseline of this class): fails on a version change, a claim gone or not in the
  baseline (unless allowed as new), n changed or below the design, a NaN estimate, and on an estimate
  (every stratum of a stratified claim, else the headline) that moved more than a new draw allows:
  |current - baseline| on the working scale over its predictive standard error
  sqrt(se_baseline^2 + se_current^2), against the t quantile (Welch df) at a family-wise false-alarm
  rate of 1% over every estimand compared (Bonferroni: two-sided 0.01 / m). A verdict or reason
  (e.g. a precondition) that flips while every estimate agrees is printed `unstable (near its
  threshold)` with both intervals and does not fail; a flip with a shift beyond the threshold fails,
  and so does any flip to or from a failed instrument control (the instrument broke, whatever the draw).

Both modes fail on: a verdict resting on no replicates, replicates below the claim's design (per
stratum for every stratified claim), an estimate or interval that became NaN, a claim gone from the
verdicts or absent from the baseline (unless `--allow-new` names it).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from scipy import stats

from benchmark.atomic import read_json, write_json
from benchmark.errors import BenchmarkError

FAMILY_FALSE_ALARM = 0.01
EXACT_REL, EXACT_ABS = 1e-6, 1e-9

# reason categories (TestResult.reason_code); older reports only have the sentence, mapped here
REASON_CODES = ("supported", "contrary", "overlap", "too_little_evidence", "undefined",
                "precondition_failed", "manipulation_failed", "undecidable", "control_failed")
# a NaN estimate can enter a baseline only with one of these reasons (it explains the NaN)
NAN_REASONS = ("too_little_evidence", "undefined", "precondition_failed", "manipulation_failed", "undecidable",
               "control_failed")
_REASON_TEXT = (  # (sentence fragment, code), first match wins
    ("instrument failed its control", "control_failed"),
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
STORED = ("claim_id", "version", "verdict", "reason_code", "reason", "n", "replicates_design", "replicates_design_strata",
          "replicates_dropped", "estimate", "ci_low", "ci_high", "ci_level", "se", "df", "transform", "estimand", "kind",
          "alpha", "test", "strata")
STRATUM_STORED = ("name", "estimate", "ci_low", "ci_high", "n", "se", "df", "verdict")
BASELINE_FORMAT = 2


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


@dataclasses.dataclass(frozen=True)
class Verdicts:
    """A claims.json or a baseline: its machine class (None: unknown) and its entries by claim."""

    path: Path
    machine: dict[str, Any] | None
    claims: dict[str, dict[str, Any]]

    @property
    def class_id(self) -> str | None:
        return (self.machine or {}).get("class_id")


def read_verdicts(path: Path) -> Verdicts:
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
        if not isinstance(e, dict):
            raise BenchmarkError(f"{path}: field 'claims[{i}]': expected an object")
        for key in ("claim_id", "version", "verdict"):
            if key not in e:
                raise BenchmarkError(f"{path}: field 'claims[{i}].{key}': missing")
        if not isinstance(e["claim_id"], str):
            raise BenchmarkError(f"{path}: field 'claims[{i}].claim_id': expected a string")
        if e["claim_id"] in out:
            raise BenchmarkError(f"{path}: field 'claims[{i}].claim_id': {e['claim_id']!r} appears twice")
        out[e["claim_id"]] = e
    machine = data.get("machine") or (data.get("environment") or {}).get("machine")
    if machine is not None and not (isinstance(machine, dict) and isinstance(machine.get("class_id"), str)):
        raise BenchmarkError(f"{path}: field 'machine': expected an object with a 'class_id'")
    return Verdicts(path, machine, out)


def _verdicts(path: Path) -> dict[str, dict[str, Any]]:
    return read_verdicts(path).claims


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


def _interval(e: dict[str, Any]) -> str:
    return f"{_fmt(_num(e, 'estimate'))} [{_fmt(_num(e, 'ci_low'))}, {_fmt(_num(e, 'ci_high'))}]"


# ---- the estimands a claim is compared on -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Point:
    """One estimand on the working scale: estimate, standard error, df (any may be unknown)."""

    name: str
    estimate: float | None
    se: float | None
    df: float | None


def _to_working(entry: dict[str, Any], v: float | None) -> float | None:
    if v is None or math.isnan(v):
        return v
    if (entry.get("transform") or _transform_of(entry)) == "fisher_z":
        return math.atanh(max(-0.999999, min(0.999999, v)))
    return v


def _transform_of(entry: dict[str, Any]) -> str:
    kind = entry.get("kind") or ((entry.get("claim") or {}).get("test") or {}).get("kind")
    return "fisher_z" if kind == "replicate_correlation" else "identity"


def _alpha(entry: dict[str, Any]) -> float:
    a = _num(entry, "alpha")
    if a is None and _num(entry, "ci_level") is not None:
        a = (1 - float(entry["ci_level"])) / 2
    return a if a is not None and 0 < a < 0.5 else 0.05


def _stratum_df(entry: dict[str, Any], n: float | None) -> float | None:
    """df of a stratum in reports that did not record it: from its n and the test kind."""
    if n is None or math.isnan(n):
        return None
    kind = entry.get("kind") or ((entry.get("claim") or {}).get("test") or {}).get("kind")
    return max(1.0, n - (2 if kind in ("trend", "mean_difference") else 1))


def _se_from_interval(entry: dict[str, Any], e: dict[str, Any], df: float | None) -> float | None:
    """Standard error recovered from a symmetric (1 - 2 alpha) interval (reports before se was recorded)."""
    lo, hi = _to_working(entry, _num(e, "ci_low")), _to_working(entry, _num(e, "ci_high"))
    if lo is None or hi is None or df is None or math.isnan(lo) or math.isnan(hi):
        return None
    q = float(stats.t.ppf(1 - _alpha(entry), df))
    return (hi - lo) / (2 * q) if q > 0 else None


def points(entry: dict[str, Any]) -> list[Point]:
    """What the claim is compared on: each stratum of a stratified claim (the headline of a stratified
    claim is derived from them), else the headline."""
    strata = entry.get("strata") or []
    out = []
    if strata and entry.get("estimand") != "pooled":
        for s in strata:
            n = _num(s, "n")
            df = _num(s, "df")
            df = df if df is not None and not math.isnan(df) else _stratum_df(entry, n)
            se = _num(s, "se")
            se = se if se is not None and not math.isnan(se) else _se_from_interval(entry, s, df)
            out.append(Point(str(s.get("name")), _to_working(entry, _num(s, "estimate")), se, df))
        return out
    df = _num(entry, "df")
    se = _num(entry, "se")
    if se is None or math.isnan(se):
        se = _se_from_interval(entry, entry, df)
    return [Point("headline", _to_working(entry, _num(entry, "estimate")), se, df)]


def _welch_df(se_b: float, df_b: float, se_c: float, df_c: float) -> float:
    num = (se_b ** 2 + se_c ** 2) ** 2
    den = se_b ** 4 / df_b + se_c ** 4 / df_c
    return num / den if den > 0 else min(df_b, df_c)


def threshold(m: int, df: float) -> float:
    """Critical |shift| / predictive SE for a two-sided family-wise false-alarm rate of 1% over m."""
    return float(stats.t.ppf(1 - FAMILY_FALSE_ALARM / (2 * max(m, 1)), df))


# ---- one claim -----------------------------------------------------------------------------------


def _replicate_checks(b: dict[str, Any], c: dict[str, Any], fails: list[str], unknown: list[str], exact: bool) -> None:
    n, n_base = _num(c, "n"), _num(b, "n")
    design = _num(c, "replicates_design") or _num(b, "replicates_design")
    by_stratum = c.get("replicates_design_strata") or b.get("replicates_design_strata")
    dropped = _num(c, "replicates_dropped") or 0
    dropped_b = _num(b, "replicates_dropped") or 0
    if n is None:
        unknown.append("n")
        return
    if n == 0 or math.isnan(n):
        fails.append("the verdict rests on no replicates (n = 0)")
        return
    strata = c.get("strata") or []
    if strata and not by_stratum and design is not None and c.get("estimand") != "pooled":
        # every stratified claim's design is checked stratum by stratum (the design's replicates in each)
        by_stratum = {s.get("name"): design for s in (b.get("strata") or strata)}
    if by_stratum:
        have = {s.get("name"): _num(s, "n") for s in strata}
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
    if n_base is not None and not math.isnan(n_base) and n + dropped != n_base + dropped_b and not any(
            "replicates" in f for f in fails):
        fails.append(f"n changed: {n_base + dropped_b:g} -> {n + dropped:g} replicates (dropped by preconditions included)")


def check_claim(cid: str, b: dict[str, Any], c: dict[str, Any], only_regressions: bool = False, mode: str = "exact",
                m: int = 1) -> tuple[list[str], list[str], list[str]]:
    """(failures, warnings, unknowns) for one claim present in both files with the same version.

    `mode`: exact or statistical (module docstring); `m`: the estimands compared over the suite."""
    fails, warns, unknown = [], [], []
    _replicate_checks(b, c, fails, unknown, mode == "exact")

    for key in ("estimate", "ci_low", "ci_high"):
        v, vb = _num(c, key), _num(b, key)
        if v is None:
            unknown.append(key)
        elif math.isnan(v):
            if _isnan(vb):
                warns.append(f"{key} is NaN, as in the baseline")
            else:
                fails.append(f"{key} became NaN (baseline {_fmt(vb)})")

    shifted = []
    if mode == "exact":
        shifted = _exact_moves(b, c, unknown)
        fails += shifted
    else:
        shifted = _statistical_moves(b, c, m, unknown)
        fails += shifted

    verdict_changed = c["verdict"] != b["verdict"]
    code, code_base = reason_code(c), reason_code(b)
    reason_changed = code is not None and code_base is not None and code != code_base
    if code is None or code_base is None:
        unknown.append("reason_code")
    flip = []
    if verdict_changed:
        flip.append(f"verdict {b['verdict']} -> {c['verdict']}")
    if reason_changed:
        flip.append(f"reason changed category: {code_base} -> {code} ({c.get('reason', '?')})")
    if flip:
        regression = b["verdict"] == "reproduced" or not verdict_changed or not only_regressions
        control = "control_failed" in (code, code_base)  # an instrument that stopped passing a control is broken
        if (mode == "statistical" and not shifted and not control
                and not any("NaN" in f or "replicates" in f or "n changed" in f for f in fails)):
            warns.append(f"unstable (near its threshold): {'; '.join(flip)}; baseline {_interval(b)}, "
                         f"current {_interval(c)}")
        elif regression:
            fails += flip
        else:
            warns += flip

    est, lo, hi = _num(c, "estimate"), _num(b, "ci_low"), _num(b, "ci_high")
    if est is not None and lo is not None and hi is not None and not any(map(math.isnan, (est, lo, hi))):
        if not lo <= est <= hi:
            warns.append(f"estimate {_fmt(est)} left the baseline's interval [{_fmt(lo)}, {_fmt(hi)}] "
                         f"(baseline estimate {_fmt(_num(b, 'estimate'))})")
    return fails, warns, unknown


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return True  # unknown: reported as such, not a failure
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= EXACT_ABS + EXACT_REL * abs(b)


def _exact_moves(b: dict[str, Any], c: dict[str, Any], unknown: list[str]) -> list[str]:
    """On one machine class the same code gives the same numbers: any move is a change."""
    out = []
    for key in ("estimate", "ci_low", "ci_high", "se"):
        if _num(b, key) is None and key == "se":
            unknown.append("se")
            continue
        if not _close(_num(c, key), _num(b, key)):
            out.append(f"{key} moved: {_fmt(_num(b, key))} -> {_fmt(_num(c, key))} (exact mode: same machine class, same code)")
    bs = {s.get("name"): s for s in b.get("strata") or []}
    for s in c.get("strata") or []:
        sb = bs.get(s.get("name"))
        if sb is None:
            continue
        for key in ("estimate", "se", "n"):
            if not _close(_num(s, key), _num(sb, key)):
                out.append(f"stratum {s.get('name')!r}: {key} moved: {_fmt(_num(sb, key))} -> {_fmt(_num(s, key))}")
    return out


def _statistical_moves(b: dict[str, Any], c: dict[str, Any], m: int, unknown: list[str]) -> list[str]:
    """Estimands that moved more than a new draw allows (module docstring)."""
    out = []
    cur = {p.name: p for p in points(c)}
    for pb in points(b):
        pc = cur.get(pb.name)
        if pc is None:
            if pb.name != "headline":
                out.append(f"stratum {pb.name!r} is absent from the current verdicts")
            continue
        vals = (pb.estimate, pb.se, pb.df, pc.estimate, pc.se, pc.df)
        if any(v is None or math.isnan(v) for v in vals) or pb.se <= 0 or pc.se <= 0:
            unknown.append(f"se ({pb.name})")
            continue
        s = math.sqrt(pb.se ** 2 + pc.se ** 2)
        z = abs(pc.estimate - pb.estimate) / s
        crit = threshold(m, _welch_df(pb.se, pb.df, pc.se, pc.df))
        if z > crit:
            where = "" if pb.name == "headline" else f"stratum {pb.name!r}: "
            out.append(f"{where}estimate moved {z:.2f} predictive SE (threshold {crit:.2f}: 1% false alarms over "
                       f"{m} estimands): {pb.estimate:.4g} -> {pc.estimate:.4g} on the working scale")
    return out


# ---- the whole suite -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GateResult:
    ok: bool
    mode: str
    lines: list[str]
    unstable: list[str]


def choose_baseline(baseline: Path, current: Verdicts) -> tuple[Verdicts, str]:
    """(baseline, mode). `baseline` is a file, or the folder of per-class baselines: the current
    verdicts' class if stored (exact), else the newest stored baseline of another class (statistical)."""
    if baseline.is_dir():
        files = sorted(baseline.glob("*.json"))
        if not files:
            raise BenchmarkError(f"{baseline}: no baseline in this folder (write one with `claims baseline`)")
        stored = [read_verdicts(f) for f in files]
        same = [v for v in stored if v.class_id is not None and v.class_id == current.class_id]
        if same:
            return same[0], "exact"
        newest = max(stored, key=lambda v: (str((v.machine or {}).get("written", "")), str(v.path)))
        return newest, "statistical"
    chosen = read_verdicts(baseline)
    same = chosen.class_id is not None and chosen.class_id == current.class_id
    return chosen, "exact" if same else "statistical"


def run_gate(baseline: Path, current: Path, only_regressions: bool = False, allow_new: tuple[str, ...] = (),
             mode: str | None = None) -> GateResult:
    cur = read_verdicts(current)
    base, chosen_mode = choose_baseline(baseline, cur)
    mode = mode or chosen_mode
    lines = [f"gate mode: {mode} (baseline {base.path}, machine class {base.class_id or 'unknown'}; current verdicts: "
             f"machine class {cur.class_id or 'unknown'})"]
    m = sum(len(points(cur.claims[cid])) for cid in base.claims if cid in cur.claims
            and cur.claims[cid]["version"] == base.claims[cid]["version"])
    if mode == "statistical":
        lines.append(f"  statistical: an estimate fails when it moved beyond the t quantile (Welch df) of a two-sided "
                     f"{FAMILY_FALSE_ALARM:.0%} family-wise false-alarm rate over {m} estimands, in predictive SE "
                     f"sqrt(se_baseline^2 + se_current^2); a verdict that flips while the estimates agree is unstable")
    ok, unstable = True, []
    for cid, b in sorted(base.claims.items()):
        c = cur.claims.get(cid)
        if c is None:
            ok = False
            lines.append(f"FAIL {cid}: in the baseline ({b['verdict']}) but gone from the current verdicts")
            continue
        if c["version"] != b["version"]:
            ok = False
            lines.append(f"FAIL {cid}: version {b['version']} -> {c['version']}; update the baseline deliberately")
            continue
        fails, warns, unknown = check_claim(cid, b, c, only_regressions, mode, m)
        ok = ok and not fails
        for f in fails:
            lines.append(f"FAIL {cid}: {f}")
        if not fails:
            note = f" (not checked, missing: {', '.join(unknown)})" if unknown else ""
            lines.append(f"ok   {cid}: {c['verdict']}, n {_fmt(_num(c, 'n'))}{note}")
        for w in warns:
            lines.append(f"warn {cid}: {w}")
            if w.startswith("unstable"):
                unstable.append(cid)
    for cid in sorted(set(cur.claims) - set(base.claims)):
        if cid in allow_new:
            lines.append(f"new  {cid}: {cur.claims[cid]['verdict']} (not in the baseline; allowed by --allow-new)")
        else:
            ok = False
            lines.append(f"FAIL {cid}: not in the baseline ({cur.claims[cid]['verdict']}); update the baseline "
                         f"deliberately, or name it with --allow-new")
    if unstable:
        lines.append(f"unstable (near their thresholds, not failures): {', '.join(unstable)}")
    return GateResult(ok, mode, lines, unstable)


def compare(baseline: Path, current: Path, only_regressions: bool = False, allow_new: tuple[str, ...] = (),
            mode: str | None = None) -> tuple[bool, list[str]]:
    r = run_gate(baseline, current, only_regressions, allow_new, mode)
    return r.ok, r.lines


# ---- writing baselines ---------------------------------------------------------------------------


def baseline_entry(e: dict[str, Any], path: Path) -> dict[str, Any]:
    """What the gate's checks need from one claims.json entry; a NaN estimate only with a reason
    that explains it."""
    entry = {k: e[k] for k in STORED if k in e and k not in ("strata", "test")}
    code = reason_code(e)
    if code is not None:
        entry["reason_code"] = code
    if "kind" not in entry and isinstance(e.get("claim"), dict):
        entry["kind"] = (e["claim"].get("test") or {}).get("kind")
    entry["strata"] = [{k: s[k] for k in STRATUM_STORED if k in s} for s in e.get("strata") or []]
    est = _num(e, "estimate")
    if est is not None and math.isnan(est) and (e.get("verdict") != "inconclusive" or code not in NAN_REASONS):
        raise BenchmarkError(f"{path}: claim {e['claim_id']}: field 'estimate' is NaN with verdict {e.get('verdict')!r} "
                             f"and reason {code!r}: a NaN enters a baseline only with an inconclusive reason that "
                             f"explains it ({', '.join(NAN_REASONS)})")
    return entry


def write_baseline(current: Path, baseline: Path, machine: dict[str, Any] | None = None) -> Path:
    """Store what the gate's checks need, per claim, with the machine class that produced the
    verdicts. `baseline`: a file, or the folder of per-class baselines (the file is then named by
    the class). Returns the file written."""
    cur = read_verdicts(current)
    machine = machine or cur.machine
    if machine is None:
        from benchmark.tracking.machine import current as this_machine

        machine = dict(this_machine())
    entries = [baseline_entry(e, current) for _, e in sorted(cur.claims.items())]
    if baseline.is_dir() or baseline.suffix == "":
        baseline = baseline / f"{machine['class_id']}.json"
    import datetime

    machine = {**machine, "written": datetime.date.today().isoformat()}
    write_json(baseline, {"format": BASELINE_FORMAT, "machine": machine, "claims": entries})
    return baseline
