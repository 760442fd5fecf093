"""The report's Instruments section: every control every family ran, and the claims relying on it.

Read from evidence/controls/<family>.csv (benchmark.controls); a claim names its instrument's
controls in its file (`controls:`). A control that failed (or was inconclusive, which counts as
failed) makes its claims inconclusive: the table says which.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchmark.reporting.suite import fmt

TITLE = "Instruments: positive and negative controls"


def rows(root: Path) -> pd.DataFrame | None:
    folder = root / "evidence" / "controls"
    files = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    if not files:
        return None
    from benchmark.stats.evidence import read_table

    frames = [read_table(f).assign(family=f.stem) for f in files]
    return pd.concat(frames, ignore_index=True)


def markdown(table: pd.DataFrame, claims: dict) -> str:
    """The section: one row per control, the claims that rely on it."""
    users: dict[str, list[str]] = {}
    for cid, (_, spec) in sorted(claims.items()):
        for ctl in spec.controls:
            users.setdefault(ctl, []).append(cid)
    lines = ["Before an instrument may decide a claim it must find an effect built in (positive control) and find "
             "nothing where there is none (negative control), each with its outcome and margin declared before it "
             "ran, decided on a one-sided interval at the control's alpha (an inconclusive control counts as failed). "
             "A claim whose instrument failed a control it relies on is inconclusive, never falsified.", "",
             "| family | control | instrument | kind | expected | measured [interval] | n | outcome | claims relying on it |",
             "|---|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        cid = f"{r['family']}/{r['control']}"
        relying = ", ".join(f"`{c}`" for c in users.get(cid, [])) or "-"
        outcome = {"pass": "pass", "fail": "**FAIL**", "inconclusive": "**inconclusive (failed)**"}.get(str(r["outcome"]),
                                                                                                  str(r["outcome"]))
        lines.append(f"| {r['family']} | `{r['control']}` | {r['instrument']} | {r['kind']} | {r['expected']} | "
                     f"{fmt(r['estimate'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}] | {int(r['n'])} | {outcome} | "
                     f"{relying} |")
    missing = sorted(c for c in users if c not in {f"{f}/{n}" for f, n in zip(table["family"], table["control"])})
    if missing:
        lines += ["", "Named by a claim but run by no family (their claims are inconclusive): "
                  + ", ".join(f"`{c}`" for c in missing) + "."]
    return "\n".join(lines) + "\n"
