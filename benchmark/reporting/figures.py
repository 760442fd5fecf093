"""One evidence figure per claim: the data points per network, the fit with its interval, and
the threshold the verdict turns on (smallest effect of interest or bound). Deterministic PNGs."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.claims.spec import ClaimSpec  # noqa: E402
from benchmark.stats.result import TestResult  # noqa: E402

STYLE = {"figure.dpi": 100, "font.size": 8, "font.family": "DejaVu Sans", "axes.spines.top": False,
         "axes.spines.right": False, "svg.hashsalt": "interp-claims"}
COLORS = {"reproduced": "#1b7837", "falsified": "#b2182b", "inconclusive": "#7f7f7f"}


def _threshold(spec: ClaimSpec) -> tuple[float, str]:
    t = spec.test
    if t.form == "bound":
        return t.bound, f"bound {t.bound:g}"
    if t.form == "equivalence":
        return t.null + t.margin, f"equivalence margin {t.null:g} +- {t.margin:g}"
    sign = 1 if t.direction == "greater" else -1
    return t.null + sign * t.sesoi, f"smallest effect of interest {t.null + sign * t.sesoi:g}"


def _summary_panel(ax, spec: ClaimSpec, res: TestResult) -> None:
    """Estimate with its (1 - 2 alpha) interval, per stratum too, against null and threshold."""
    rows = [("overall", res.estimate, res.ci_low, res.ci_high)] + [(s.name, s.estimate, s.ci_low, s.ci_high) for s in res.strata]
    for i, (name, est, lo, hi) in enumerate(rows):
        ax.errorbar([est], [i], xerr=[[est - lo], [hi - est]] if np.isfinite([lo, hi]).all() else None, fmt="o",
                    color=COLORS[res.verdict.value] if i == 0 else "#4d4d4d", capsize=3)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    thr, label = _threshold(spec)
    ax.axvline(spec.test.null, color="k", lw=0.8, ls=":", label=f"null {spec.test.null:g}")
    ax.axvline(thr, color="#d95f02", lw=1, ls="--", label=label)
    ax.set_xlabel(spec.figure.get("estimate", "effect") + f" ({res.ci_level:.0%} CI)")
    ax.legend(loc="best", fontsize=7, frameon=False)
    ax.set_title(f"{res.verdict.value}: est {res.estimate:.3g} [{res.ci_low:.3g}, {res.ci_high:.3g}], power {res.power:.2f}", fontsize=8)


def _evidence_panel(ax, frame: pd.DataFrame, spec: ClaimSpec, res: TestResult) -> None:
    p = spec.test.params
    rep = p.get("replicate", "seed")
    kind = spec.test.kind
    if kind in ("replicate_correlation", "trend") and "x" in p and "y" in p:
        cmap = plt.get_cmap("viridis")
        reps = sorted(frame[rep].unique())
        if kind == "replicate_correlation":
            for i, r in enumerate(reps):
                g = frame[frame[rep] == r]
                ax.scatter(g[p["x"]], g[p["y"]], s=4, alpha=0.35, color=cmap(i / max(1, len(reps) - 1)), lw=0)
            ax.set_title(f"units of {len(reps)} networks (colour: {rep})", fontsize=8)
        else:
            from benchmark.stats.kinds import trend_frame

            tf = trend_frame(frame, p)  # the rows the test fits: filtered, aggregated, x on its scale
            groups = list(tf.groupby(p["strata"])) if p.get("strata") else [("all", tf)]
            width = 0.3 if p.get("x_scale") == "rank" else 0.0
            for j, (name, g) in enumerate(groups):
                x, y = g["_x"].to_numpy(float), g[p["y"]].to_numpy(float)
                shift = width * (j / max(1, len(groups) - 1) - 0.5) if len(groups) > 1 else 0.0
                ax.scatter(x + shift, y, s=12, alpha=0.75, label=str(name) if p.get("strata") else None)
                if len(np.unique(x)) > 1:
                    coef = np.polyfit(x, y, 1)
                    xs = np.linspace(x.min(), x.max(), 50)
                    ax.plot(xs, np.polyval(coef, xs), lw=1)
            if p.get("x_scale") == "rank":  # label the ranks with the levels they stand for
                levels = sorted(tf[p["x"]].unique())
                ax.set_xticks(range(len(levels)), [f"{v:g}" for v in levels])
            if p.get("strata"):
                ax.legend(fontsize=7, frameon=False, title=p["strata"])
            what = "mean over conditions, " if p.get("aggregate") == "mean" else ""
            ax.set_title(f"one point per network ({what}OLS fit per {p.get('strata') or 'table'})", fontsize=8)
        ax.set_xlabel(spec.figure.get("x", p["x"]))
        ax.set_ylabel(spec.figure.get("y", p["y"]))
    elif "y" in p:
        # x: the compared groups; else the strata (one column per stratum); else the replicates
        col = p.get("group") or p.get("strata") or rep
        by_strata = p.get("strata") and col != p.get("strata")
        strata = list(frame.groupby(p["strata"])) if by_strata else [(None, frame)]
        levels = sorted(frame[col].unique())
        for j, (sname, sf) in enumerate(strata):
            shift = 0.3 * (j / max(1, len(strata) - 1) - 0.5) if len(strata) > 1 else 0.0
            for i, level in enumerate(levels):
                g = sf[sf[col] == level]
                vals = g.groupby(rep)[p["y"]].mean() if col != rep else g[p["y"]]
                ax.scatter(np.full(len(vals), i + shift), vals, s=10, color=f"C{j}",
                           label=str(sname) if sname is not None and i == 0 else None)
        for side, marker in (("control", "k"), ("treatment", "#d95f02")):
            chosen = p.get(side)
            for v in (chosen if isinstance(chosen, list) else [chosen] if chosen is not None else []):
                if v in levels:
                    ax.axvspan(levels.index(v) - 0.45, levels.index(v) + 0.45, color=marker, alpha=0.07, lw=0)
        ax.set_xticks(range(len(levels)), [f"{v:g}" if isinstance(v, float) else str(v) for v in levels], rotation=45, fontsize=6)
        if by_strata:
            ax.legend(fontsize=7, frameon=False, title=p["strata"])
        if p.get("treatment") is not None:
            ax.set_title("per network; shaded: control (grey), treatment (orange)", fontsize=8)
        ax.set_ylabel(spec.figure.get("y", p["y"]))
        ax.set_xlabel(spec.figure.get("x", col))


def claim_figure(frame: pd.DataFrame, spec: ClaimSpec, res: TestResult, path: Path) -> None:
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        _evidence_panel(axes[0], frame, spec, res)
        _summary_panel(axes[1], spec, res)
        fig.suptitle(f"{spec.id} (v{spec.version})", fontsize=9)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())
