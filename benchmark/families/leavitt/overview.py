"""Overview figure of a selectivity sweep: accuracy, robustness and dimensionality against each
network's measured mean selectivity, one point per network, coloured by alpha (a report section;
the verdicts come from the claim files, this only shows the evidence side by side).

    python -m benchmark.stages.probe leavitt overview <experiment>
Outputs: evidence/<experiment>/<experiment>_overview.md and .png (the name is unique in reports/figures/)
"""

from __future__ import annotations

import argparse
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from benchmark.atomic import write_bytes, write_text  # noqa: E402
from benchmark.paths import evidence_path, project_root  # noqa: E402
from benchmark.reporting.figures import STYLE  # noqa: E402
from benchmark.stats.evidence import read_table  # noqa: E402
from benchmark.steps import cli  # noqa: E402

NET = ["dataset", "alpha", "seed"]
TABLES = ("layer_selectivity", "corruption", "attack", "dimensionality")


def per_network(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per network: mean selectivity over layers, accuracy, mean relative accuracy under
    corruption and attack, and the dimensionality of the adversarial change (mean over layers)."""
    sel = tables["layer_selectivity"].groupby(NET).agg(selectivity=("mean_selectivity", "mean"), accuracy=("accuracy", "first"))
    cor = tables["corruption"].groupby(NET)["relative_accuracy"].mean().rename("corruption")
    att = tables["attack"].groupby(NET)["relative_accuracy"].mean().rename("attack")
    dim = tables["dimensionality"]
    adv = dim[dim.perturbation == "adversarial"].groupby(NET)["dim_fraction"].mean().rename("dimensionality")
    return pd.concat([sel, cor, att, adv], axis=1).reset_index()


PANELS = [("accuracy", "test accuracy"), ("corruption", "corrupted / clean accuracy"),
          ("attack", "attacked / clean accuracy"), ("dimensionality", "dim. of adversarial change")]


def overview_png(nets: pd.DataFrame) -> bytes:
    datasets = sorted(nets.dataset.unique())
    alphas = sorted(nets.alpha.unique())
    cmap = plt.get_cmap("coolwarm")
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(len(datasets), len(PANELS), figsize=(11, 2.6 * len(datasets)), squeeze=False)
        for i, ds in enumerate(datasets):
            g = nets[nets.dataset == ds]
            colors = [cmap(alphas.index(a) / max(1, len(alphas) - 1)) for a in g.alpha]
            for j, (col, label) in enumerate(PANELS):
                ax = axes[i, j]
                ax.scatter(g.selectivity, g[col], c=colors, s=12, lw=0)
                ax.set_xlabel("mean selectivity (over layers)")
                ax.set_ylabel(label)
                ax.set_title(ds, fontsize=8)
        handles = [plt.Line2D([], [], marker="o", ls="", color=cmap(k / max(1, len(alphas) - 1)), label=f"{a:g}")
                   for k, a in enumerate(alphas)]
        fig.legend(handles=handles, title="alpha", loc="center right", fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0, 0.93, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        plt.close(fig)
    return buf.getvalue()


def overview_markdown(image: str, nets: pd.DataFrame) -> str:
    means = nets.groupby(["dataset", "alpha"])[["selectivity", "accuracy", "corruption", "attack", "dimensionality"]].mean()
    rows = ["| dataset | alpha | selectivity | accuracy | corrupted/clean | attacked/clean | dim. adv. change |", "|---|---|---|---|---|---|---|"]
    for (ds, a), r in means.iterrows():
        rows.append(f"| {ds} | {a:g} | {r.selectivity:.3f} | {r.accuracy:.3f} | {r.corruption:.3f} | {r.attack:.3f} | {r.dimensionality:.3f} |")
    return (f"One point per network, coloured by alpha; means per alpha below (all seeds).\n\n![selectivity sweep]({image})\n\n"
            + "\n".join(rows) + "\n")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    nets = per_network({t: read_table(evidence_path(args.experiment, t)) for t in TABLES})
    png = evidence_path(args.experiment, f"{args.experiment}_overview").with_suffix(".png")
    write_bytes(png, overview_png(nets))
    md = evidence_path(args.experiment, f"{args.experiment}_overview").with_suffix(".md")
    write_text(md, overview_markdown(str(png.relative_to(project_root())), nets))
    print(f"wrote {md} and {png}")
    return 0
