"""The guan2019 family in the report: per-layer word-entropy heat maps (one row of panels per
model, a few sentences, relevant words marked) and the section's text."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.reporting.figures import STYLE  # noqa: E402
from benchmark.reporting.scene_gan import md_table  # noqa: E402  (one markdown table writer for the families)


def heatmaps(words: pd.DataFrame, sentences: list[int], path: Path) -> None:
    """words: the word table of one network per model (column `model`); entropy per layer x word."""
    models = list(dict.fromkeys(words.model))
    lo, hi = float(words.entropy.min()), float(words.entropy.max())
    with plt.rc_context({**STYLE, "font.size": 7}):
        fig, axes = plt.subplots(len(models), len(sentences), figsize=(3.4 * len(sentences), 2.1 * len(models) + 0.6),
                                 squeeze=False, gridspec_kw={"hspace": 0.9})
        for r, model in enumerate(models):
            for c, s in enumerate(sentences):
                ax = axes[r, c]
                g = words[(words.model == model) & (words.sentence == s)]
                table = g.pivot(index="layer", columns="position", values="entropy").sort_index()
                im = ax.imshow(table.to_numpy(), cmap="viridis", vmin=lo, vmax=hi, aspect="auto")
                first = g[g.layer == g.layer.min()].sort_values("position")
                ax.set_xticks(range(len(first)))
                ax.set_xticklabels([w + ("*" if rel else "") for w, rel in zip(first.word, first.relevant)],
                                   rotation=60, ha="right")
                for tick, rel in zip(ax.get_xticklabels(), first.relevant):
                    if rel:
                        tick.set_color("#b2182b")
                        tick.set_fontweight("bold")
                ax.set_yticks(range(len(table)))
                ax.set_yticklabels([f"L{int(v)}" for v in table.index])
                if c == 0:
                    ax.set_ylabel(model.replace("_", "\n"))
        fig.colorbar(im, ax=axes, shrink=0.6, label="entropy (nats/dim); high = word lost")
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())


EMBEDDED_INTRO = ("Synthetic sentiment sentences (benchmark/data/sentiment_corpus.py) whose label is a deterministic "
                  "function of the sentiment words and their negations: those words are relevant, intensifiers and "
                  "filler are not. ")


def section(layers: pd.DataFrame, training: pd.DataFrame, figure: Path, probe: dict, intro: str = EMBEDDED_INTRO,
            agreement: pd.DataFrame | None = None) -> str:
    """Per model and layer, the mean over networks of each measure's AUC for relevance and the gap;
    with `agreement` (measure.rank_agreement), each measure's rank agreement per stratum (G4);
    `intro` says what the data and the relevance are (the embedded corpus by default)."""
    mean = layers.groupby(["model", "layer"], sort=False).mean(numeric_only=True).reset_index()
    acc = training.groupby("model", sort=False).test_accuracy.agg(["mean", "min"])
    nets = ", ".join(f"{m} (test accuracy mean {a.loc['mean']:.3f}, min {a.loc['min']:.3f})" for m, a in acc.iterrows())
    text = (
        intro
        + f"Networks: {nets}, "
        f"{training.seed.nunique()} seeds each. The perturbation measure (guan2019) ran {probe['iterations']} Adam "
        f"iterations (lr {probe['lr']:.4g}, lambda {probe['lam']}, largest sigma {probe['noise_scale']:g}"
        f"{' x the embedding SD' if probe.get('relative_scale') else ''}, start {probe.get('init', 'zeros')}, "
        f"read-out {probe.get('keep', 'last')}) on "
        f"{probe['sentences']} test sentences per network, all layers and sentences at once.\n\n"
        f"![Per-layer word entropy, one network per model; relevant words red with *]({figure})\n\n"
        "Mean over networks, per layer: AUC of each measure for telling relevant from irrelevant words (entropy "
        "reversed: low entropy = kept; 0.5 = no agreement), and the entropy gap irrelevant minus relevant "
        "(nats/dim; normalized: over the SD of all words' entropies at that layer).\n\n"
        + md_table(["model", "layer", "AUC perturbation", "AUC saliency", "AUC grad x input", "gap", "gap normalized"],
                   [[r.model, int(r.layer), r.auc_perturbation, r.auc_saliency, r.auc_grad_input, r.gap, r.gap_norm]
                    for r in mean.itertuples()]))
    if agreement is not None and len(agreement):
        agree = agreement.groupby("stratum", sort=True)[["perturbation", "saliency", "y"]].agg(["mean", "std", "count"])
        text += ("\n\nRank agreement (G4): the mean over sentences of the within-sentence Spearman correlation of two "
                 "word rankings, across adjacent layers of a network and across the paper's models' last layers; "
                 "mean (SD) over seeds.\n\n"
                 + md_table(["stratum", "perturbation", "saliency", "difference", "seeds"],
                            [[s, f"{r[('perturbation', 'mean')]:.3f} ({r[('perturbation', 'std')]:.3f})",
                              f"{r[('saliency', 'mean')]:.3f} ({r[('saliency', 'std')]:.3f})",
                              f"{r[('y', 'mean')]:.3f} ({r[('y', 'std')]:.3f})", int(r[('y', 'count')])]
                             for s, r in agree.iterrows()]))
    return text
