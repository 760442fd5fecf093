"""The report's first screen: every claim on one standardized axis.

Each claim's estimate and interval are mapped linearly so that 0 is the claim's null and 1 its
design point: the smallest effect of interest (directional claims, null + sign * sesoi) or the
bound (bound claims). Positive values lie on the claimed side of the null; a directional claim
is reproduced when its interval lies above 0 and falsified when it lies below 1; a bound claim
is reproduced when its interval lies below 1 and falsified when it lies above 1. The paper's own figure, where the
claim file gives one (`paper_figure`), is mapped the same way. Generic over verdict records: it
reads only each entry's `claim.test`, estimate and interval.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.reporting.figures import COLORS, STYLE  # noqa: E402

XLIM = (-2.0, 5.0)  # standardized units; values beyond are drawn at the edge with an arrow and their value


def design_point(test: dict[str, Any]) -> float:
    """The value that maps to 1: the bound, or null + sign * sesoi."""
    if test["form"] == "bound":
        return float(test["bound"])
    if test["form"] == "equivalence":  # reproduced when the interval lies within (-1, 1)
        return float(test["null"]) + float(test["margin"])
    sign = 1.0 if test["direction"] == "greater" else -1.0
    return float(test["null"]) + sign * float(test["sesoi"])


def standardize(test: dict[str, Any], value: float | None) -> float:
    """(value - null) / (design point - null): 0 = the null, 1 = the SESOI or the bound."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    null = float(test.get("null", 0.0))
    return (float(value) - null) / (design_point(test) - null)


def standardized_row(entry: dict[str, Any]) -> dict[str, Any]:
    """One claim on the standardized axis (interval ordered low-high after the mapping)."""
    test = entry["claim"]["test"]
    lo, hi = standardize(test, entry["ci_low"]), standardize(test, entry["ci_high"])
    if not (math.isnan(lo) or math.isnan(hi)) and lo > hi:
        lo, hi = hi, lo
    pf = entry["claim"].get("paper_figure")
    return {"claim_id": entry["claim_id"], "version": entry["version"], "verdict": entry["verdict"],
            "form": test["form"], "estimate": standardize(test, entry["estimate"]), "ci_low": lo, "ci_high": hi,
            "paper": standardize(test, pf["value"]) if pf else math.nan, "n": entry["n"]}


def forest_png(entries: list[dict[str, Any]], path: Path, report_id: str) -> Path:
    """A deterministic PNG: one row per claim, coloured by verdict, paper's figure as an open diamond."""
    rows = [standardized_row(e) for e in entries]
    lo_x, hi_x = XLIM
    clip = lambda v: min(max(v, lo_x), hi_x)  # noqa: E731
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(8.5, 0.9 + 0.34 * max(1, len(rows))))
        ax.axvspan(lo_x, 0, color="#f2f2f2", lw=0)
        ax.axvline(0, color="k", lw=0.8, ls=":")
        ax.axvline(1, color="#d95f02", lw=1, ls="--")
        for i, r in enumerate(rows):
            color = COLORS.get(r["verdict"], "#7f7f7f")
            est, lo, hi = r["estimate"], r["ci_low"], r["ci_high"]
            if not (math.isnan(lo) or math.isnan(hi)):
                ax.plot([clip(lo), clip(hi)], [i, i], color=color, lw=2.2, solid_capstyle="butt")
                for v, edge, mark in ((lo, lo_x, "<"), (hi, hi_x, ">")):
                    if (mark == "<" and v < edge) or (mark == ">" and v > edge):
                        ax.plot([edge], [i], marker=mark, color=color, ms=5)
            if not math.isnan(est):
                ax.plot([clip(est)], [i], marker="o", color=color, ms=6, mec="white", mew=0.8)
                if est < lo_x or est > hi_x:
                    ax.annotate(f"{est:.3g}", (clip(est), i), xytext=(4 if est < lo_x else -4, 5), textcoords="offset points",
                                ha="left" if est < lo_x else "right", fontsize=6.5, color=color)
            if not math.isnan(r["paper"]):
                ax.plot([clip(r["paper"])], [i], marker="D", mfc="none", mec="k", ms=6, mew=1)
            ax.text(hi_x + 0.08, i, {"bound": "reproduced if all < 1, falsified if all > 1",
                                      "directional": "reproduced if all > 0, falsified if all < 1",
                                      "equivalence": "reproduced if all in (-1, 1), falsified if all > 1 or all < -1"}[r["form"]],
                    va="center", fontsize=6.5, color="#555555")
        ax.set_yticks(range(len(rows)), [r["claim_id"] for r in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(lo_x, hi_x)
        ax.set_xlabel("standardized effect: 0 = the null, 1 = the smallest effect of interest (directional) "
                      "or the bound (bound claims) or the margin (equivalence claims)")
        handles = [plt.Line2D([], [], color=c, marker="o", lw=2, label=v) for v, c in COLORS.items()]
        handles.append(plt.Line2D([], [], color="k", marker="D", mfc="none", lw=0, label="paper's figure"))
        ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False, fontsize=7)
        ax.set_title(f"Every claim against its own threshold (report {report_id})", fontsize=8, pad=22)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())
    return path
