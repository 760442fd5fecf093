"""Report figures for morcos2018 M2-M4: the cumulative-ablation curves per label corruption (M2),
the ensemble scatter with its best and worst generalizers, the area and test loss over training,
and the ablation curves with and without batch norm and for each dropout fraction. Deterministic
PNGs."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.reporting.figures import STYLE  # noqa: E402


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def ensemble_figure(rel: pd.DataFrame, k: int = 5) -> bytes:
    """M3a: area_norm vs test accuracy and vs test loss, one point per network (colour: learning
    rate); the k best and k worst generalizers (by test accuracy) ringed."""
    rel = rel.sort_values("test_acc")
    worst, best = rel.head(k), rel.tail(k)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.3))
        lrs = sorted(rel["lr"].unique())
        cmap = plt.get_cmap("viridis")
        for ax, y, label in ((axes[0], "test_acc", "test accuracy"), (axes[1], "test_loss", "test loss")):
            for i, lr in enumerate(lrs):
                g = rel[rel["lr"] == lr]
                ax.scatter(g["area_norm"], g[y], s=14, color=cmap(i / max(1, len(lrs) - 1)), label=f"lr {lr:g}", lw=0)
            ax.scatter(best["area_norm"], best[y], s=60, facecolors="none", edgecolors="#1b7837", label=f"top {k}")
            ax.scatter(worst["area_norm"], worst[y], s=60, facecolors="none", edgecolors="#b2182b", label=f"bottom {k}")
            ax.set_xlabel("area under ablation curve / unablated accuracy (train)")
            ax.set_ylabel(label)
        axes[0].legend(fontsize=7, frameon=False)
        axes[0].set_title(f"{len(rel)} networks; top-{k} mean area {best['area_norm'].mean():.3f}, "
                          f"bottom-{k} {worst['area_norm'].mean():.3f}", fontsize=8)
        return _png(fig)


def course_figure(course: pd.DataFrame, summary: pd.DataFrame, n: int = 4, losses: pd.DataFrame | None = None) -> bytes:
    """M3b: area_cc (left axis, at the ablated checkpoints) and test loss (right axis, at every
    checkpoint when `losses` is given) over epochs for the first n networks; dotted line at the
    test-loss minimum; the per-network slope change in the title."""
    seeds = sorted(course["seed"].unique())[:n]
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, len(seeds), figsize=(2.6 * len(seeds), 2.8), squeeze=False)
        for ax, seed in zip(axes[0], seeds):
            g = course[course["seed"] == seed].sort_values("epoch")
            s = summary[summary["seed"] == seed].set_index("window")
            ax.plot(g["epoch"], g["area_cc"], color="#2166ac")
            ax.set_xlabel("epoch")
            ax.set_ylabel("area above chance kept", color="#2166ac")
            ax2 = ax.twinx()
            lg = g if losses is None else losses[losses["seed"] == seed].sort_values("epoch")
            ax2.plot(lg["epoch"], lg["test_loss"], color="#b2182b")
            ax2.set_ylabel("test loss", color="#b2182b")
            t_min = float(s["t_min_loss"].iloc[0])
            ax.axvline(t_min, color="k", ls=":", lw=0.8)
            change = float(s.loc["after", "slope"] - s.loc["before", "slope"])
            ax.set_title(f"seed {seed}: slope change {change:+.3f}", fontsize=8)
        return _png(fig)


def regularization_figure(bn: pd.DataFrame, dropout: pd.DataFrame) -> bytes:
    """M4: mean ablation curve (over networks; band +-1 SD) per architecture, batch norm's experiment
    left, dropout's right (its no-dropout arm in grey); dropout fractions marked where their curves
    should bend."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(8, 3.3))
        dcmap = plt.get_cmap("autumn")
        for ax, curves in ((axes[0], bn), (axes[1], dropout)):
            stats = curves.groupby(["arch", "fraction"])["accuracy"].agg(["mean", "std"]).reset_index()
            archs = sorted(stats["arch"].unique(), key=lambda a: (a.startswith("mlp+dropout"), a))
            drops = [a for a in archs if a.startswith("mlp+dropout")]
            for a in archs:
                s = stats[stats["arch"] == a]
                color = {"mlp": "#4d4d4d", "mlp+bn": "#2166ac"}.get(a) or dcmap(drops.index(a) / max(1, len(drops)))
                ax.plot(s["fraction"], s["mean"], color=color, label=a)
                ax.fill_between(s["fraction"], s["mean"] - s["std"], s["mean"] + s["std"], color=color, alpha=0.15, lw=0)
                if a in drops:
                    ax.axvline(float(a.split("=")[1]), color=color, ls=":", lw=0.8)
        axes[0].set_title("batch norm (BN statistics frozen before ablating)", fontsize=8)
        axes[1].set_title("dropout, and the same seeds without (dotted: dropout fraction)", fontsize=8)
        axes[1].set_xlim(0, 0.7)
        for ax in axes:
            ax.set_xlabel("fraction of hidden units ablated (random order)")
            ax.set_ylabel("training accuracy")
            ax.legend(fontsize=7, frameon=False)
        return _png(fig)


def _curves_by_corruption(stats: pd.DataFrame, x: str, xlabel: str) -> bytes:
    """Mean training accuracy (band +-1 SD) against `x`, one viridis curve per label-corruption
    level; `stats` has label_noise, x, mean, std. The M2 panels differ only in their x."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        cmap = plt.get_cmap("viridis")
        levels = sorted(stats["label_noise"].unique())
        for i, level in enumerate(levels):
            s = stats[stats["label_noise"] == level]
            color = cmap(i / max(1, len(levels) - 1))
            ax.plot(s[x], s["mean"], color=color, label=f"{level:g}")
            ax.fill_between(s[x], s["mean"] - s["std"], s["mean"] + s["std"], color=color, alpha=0.2, lw=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("training accuracy (labels trained on)")
        ax.legend(title="corrupted labels", fontsize=7, frameon=False)
        return _png(fig)


def ablation_curves_figure(stats: pd.DataFrame) -> bytes:
    """M2: mean cumulative-ablation curve per label-corruption level (over networks; band +-1 SD);
    `stats` has label_noise, fraction, mean, std."""
    return _curves_by_corruption(stats, "fraction", "fraction of hidden units ablated (random order)")


def unit_correlations_figure(per: pd.DataFrame, bound: float = 0.1) -> bytes:
    """M1 and its two companions: per network (points) and layer, the Spearman rho of importance with
    selectivity above its permuted-label level and with mutual information (units that fire only);
    dashed: the bound (+-0.1). `per`: measure, layer, seed, rho."""
    measures = list(dict.fromkeys(per["measure"]))
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5.2, 3.2))
        layers = sorted(per["layer"].unique())
        width = 0.8 / max(1, len(layers))
        for i, m in enumerate(measures):
            for j, layer in enumerate(layers):
                g = per[(per["measure"] == m) & (per["layer"] == layer)]
                x = i + (j - (len(layers) - 1) / 2) * width
                jitter = np.linspace(-width / 4, width / 4, len(g)) if len(g) > 1 else np.zeros(len(g))
                ax.scatter(x + jitter, g["rho"], s=10, color=("#2166ac", "#b2182b", "#4d4d4d")[j % 3],
                           label=f"layer {layer}" if i == 0 else None, lw=0)
                ax.plot([x - width / 3, x + width / 3], [g["rho"].mean()] * 2, color="k", lw=1.2)
        for b in (bound, -bound):
            ax.axhline(b, color="#999999", ls="--", lw=0.8)
        ax.axhline(0, color="#cccccc", lw=0.6)
        ax.set_xticks(range(len(measures)), measures)
        ax.set_ylabel("Spearman rho with importance, per network")
        ax.legend(fontsize=7, frameon=False)
        return _png(fig)


def noise_curves_figure(stats: pd.DataFrame) -> bytes:
    """M2's noise: mean training accuracy (over networks; band +-1 SD) vs the noise level, one curve per
    label-corruption level; `stats` has label_noise, level, mean, std."""
    return _curves_by_corruption(stats, "level", "noise SD on every hidden unit (multiple of the unit's own SD)")
