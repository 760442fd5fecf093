"""The claim-regression gate: compare fresh verdicts with the committed baseline.

Fails (exit 1) when a baseline claim's verdict changed, when its version changed (the baseline is
for another definition: update it deliberately), or when a baseline claim is gone. With
--only-regressions, only reproduced -> something else and missing claims fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmark.atomic import read_json, write_json
from benchmark.errors import BenchmarkError


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


def compare(baseline: Path, current: Path, only_regressions: bool = False) -> tuple[bool, list[str]]:
    base, cur = _verdicts(baseline), _verdicts(current)
    lines, ok = [], True
    for cid, b in sorted(base.items()):
        c = cur.get(cid)
        if c is None:
            ok = False
            lines.append(f"FAIL {cid}: in the baseline ({b['verdict']}) but gone from the current verdicts")
        elif c["version"] != b["version"]:
            ok = False
            lines.append(f"FAIL {cid}: version {b['version']} -> {c['version']}; update the baseline deliberately")
        elif c["verdict"] != b["verdict"]:
            regression = b["verdict"] == "reproduced"
            if regression or not only_regressions:
                ok = False
            lines.append(f"{'FAIL' if (regression or not only_regressions) else 'note'} {cid}: {b['verdict']} -> {c['verdict']}")
        else:
            lines.append(f"ok   {cid}: {c['verdict']}")
    for cid in sorted(set(cur) - set(base)):
        lines.append(f"new  {cid}: {cur[cid]['verdict']} (not in the baseline)")
    return ok, lines


def write_baseline(current: Path, baseline: Path) -> None:
    cur = _verdicts(current)
    write_json(baseline, {"claims": [{"claim_id": c, "version": e["version"], "verdict": e["verdict"]}
                                     for c, e in sorted(cur.items())]})
