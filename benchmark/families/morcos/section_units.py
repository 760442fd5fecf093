"""Report section for morcos2018 M1 and M2's noise: the mnist1d proxies beside the published
baseline, the units left out, the per-network correlations of importance with selectivity and with
mutual information, and the noise curves.

    python -m benchmark.stages.probe morcos section_units
Reads evidence/morcos_selectivity/{unit_ablation,training}.csv, evidence/morcos_generalization/
{training,noise_auc,noise_curves}.csv, evidence/morcos_reference/training.csv; writes
sections/morcos_units.md and its two PNGs.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from benchmark.atomic import write_bytes, write_text
from benchmark.families.morcos.figures import noise_curves_figure, unit_correlations_figure
from benchmark.paths import evidence_path, project_root
from benchmark.stats import tdist
from benchmark.steps import cli
from benchmark.stats.evidence import read_table

PUBLISHED_MLP = 0.68   # mnist1d authors' README: MLP 68% held-out (logistic 32%, CNN 94%, GRU 91%)
SHORT = 0.03           # more than 3 points short of the like-for-like baseline: an under-trained proxy (issue 25)
MEASURES = {"selectivity_excess": "selectivity (above null)", "mutual_information": "mutual information"}


def arm(acc: pd.Series) -> tuple[float, float, float, int]:
    """Mean held-out accuracy with its 90% t interval over networks."""
    v = acc.to_numpy(float)
    n, m = len(v), float(v.mean())
    half = float(tdist.ppf(0.95, n - 1)) * float(v.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return m, m - half, m + half, n


def per_network(units: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho of importance with each measure, per network and layer, units that fire only."""
    active = units[units["active_fraction"] > 0]
    rows = []
    for (seed, layer), g in active.groupby(["seed", "layer"], sort=True):
        for col, name in MEASURES.items():
            if col in g and g[col].nunique() > 1 and g["importance"].nunique() > 1:
                rows.append({"measure": name, "layer": int(layer), "seed": seed,
                             "rho": float(stats.spearmanr(g[col], g["importance"])[0])})
    return pd.DataFrame(rows, columns=["measure", "layer", "seed", "rho"])


@cli
def main(argv=None) -> int:
    out = project_root() / "sections"
    units = read_table(evidence_path("morcos_selectivity", "unit_ablation"))
    arms = {"mnist1d authors' MLP recipe on the suite's mnist1d (reference)": read_table(evidence_path("morcos_reference", "training"))["test_acc"],
            "M1 MLPs 2x128 (morcos_selectivity)": read_table(evidence_path("morcos_selectivity", "training"))["test_acc"]}
    gen = read_table(evidence_path("morcos_generalization", "training"))
    arms["M2 MLPs 2x512, clean labels (morcos_generalization, label noise 0)"] = gen[gen["label_noise"] == 0]["test_acc"]
    lines = ["| arm | networks | held-out accuracy [90% CI] | published (mnist1d authors, MLP) | short by | proxy |",
             "|---|---|---|---|---|---|"]
    for name, acc in arms.items():
        m, lo, hi, n = arm(acc)
        verdict = "under-trained proxy" if PUBLISHED_MLP - m > SHORT else "within 3 points"
        lines.append(f"| {name} | {n} | {m:.3f} [{lo:.3f}, {hi:.3f}] | {PUBLISHED_MLP:.2f} | {PUBLISHED_MLP - m:+.3f} | {verdict} |")
    dead = units.groupby("layer")["active_fraction"].agg(lambda a: int((a == 0).sum()))
    total = units.groupby("layer").size()
    dead_text = ", ".join(f"layer {layer}: {int(dead[layer])} of {int(total[layer])}" for layer in total.index)
    per = per_network(units)
    write_bytes(out / "morcos_units_correlations.png", unit_correlations_figure(per))
    curves = read_table(evidence_path("morcos_generalization", "noise_curves"))
    st = curves.groupby(["label_noise", "level"])["accuracy"].agg(["mean", "std"]).reset_index()
    write_bytes(out / "morcos_noise_curves.png", noise_curves_figure(st))
    means = per.groupby(["measure", "layer"])["rho"].mean().unstack()
    corr_text = "; ".join(f"{m}: " + ", ".join(f"layer {layer} {means.loc[m, layer]:+.3f}" for layer in means.columns)
                          for m in means.index)
    text = (
        "**The mnist1d proxies (issue 25).** Held-out accuracy of each clean-label mnist1d arm beside the mnist1d "
        "authors' MLP (68%; logistic regression 32%, CNN 94%, GRU 91%), and their own MLP recipe (residual "
        "40-100-100-10, Adam 0.01, batches of 100 in order, 6000 steps) trained on the same data, so that recipe and "
        "size can be told apart. An arm more than 3 points short is an `under-trained proxy`.\n\n"
        + "\n".join(lines) + "\n\n"
        f"**Units left out (M1).** Units that never fire on the test set (selectivity 0, importance 0 by construction) "
        f"are left out of the three correlation claims: {dead_text} (of {units['seed'].nunique()} networks). "
        f"Selectivity is read above its own level under 20 label permutations (the raw index rises for sparse units "
        f"by chance: the family's control `selectivity.shuffled_labels`).\n\n"
        f"**Selectivity, information and importance.** Per network and layer, the Spearman rho of a unit's ablation "
        f"importance with its selectivity and with its mutual information with the class (points: networks; bars: "
        f"means; dashed: the claims' bound +-0.1). Mean rho: {corr_text}. The claims test the network-level Fisher-z "
        f"means (morcos2018.selectivity-not-importance, .information-not-importance; layer 0: .early-layers-negative)."
        f"\n\n![correlations](sections/morcos_units_correlations.png)\n\n"
        f"**Gaussian noise on every unit (M2).** Training accuracy (labels trained on) as noise of growing SD (a "
        f"multiple of each unit's own SD) is added to every hidden unit, mean over networks per label-corruption "
        f"level (band: +-1 SD); morcos2018.generalizers-resist-noise tests the slope of its area over the corruption "
        f"fraction.\n\n![noise](sections/morcos_noise_curves.png)\n")
    write_text(out / "morcos_units.md", text)
    print(f"wrote {out / 'morcos_units.md'}")
    return 0
