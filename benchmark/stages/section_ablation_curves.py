"""Report section: cumulative-ablation curves per label-corruption level (morcos2018's figure),
mean over networks with a band of +-1 SD across networks.

    python -m benchmark.stages.section_ablation_curves <experiment>
Outputs: sections/<experiment>_curves.md, sections/<experiment>_curves.png
"""

from __future__ import annotations

import argparse
import io
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmark.atomic import write_bytes, write_text  # noqa: E402
from benchmark.paths import evidence_path, project_root  # noqa: E402
from benchmark.reporting.figures import STYLE  # noqa: E402
from benchmark.steps import cli  # noqa: E402
from benchmark.stats.evidence import read_table  # noqa: E402


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    curves = read_table(evidence_path(args.experiment, "ablation_curves"))
    per_net = curves.groupby(["label_noise", "seed", "fraction"])["accuracy"].mean().reset_index()
    stats = per_net.groupby(["label_noise", "fraction"])["accuracy"].agg(["mean", "std", "count"]).reset_index()
    out_dir = project_root() / "sections"
    png = out_dir / f"{args.experiment}_curves.png"
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(5, 3.4))
        cmap = plt.get_cmap("viridis")
        levels = sorted(stats["label_noise"].unique())
        for i, level in enumerate(levels):
            s = stats[stats["label_noise"] == level]
            color = cmap(i / max(1, len(levels) - 1))
            ax.plot(s["fraction"], s["mean"], color=color, label=f"{level:g}")
            ax.fill_between(s["fraction"], s["mean"] - s["std"], s["mean"] + s["std"], color=color, alpha=0.2, lw=0)
        ax.set_xlabel("fraction of hidden units ablated (random order)")
        ax.set_ylabel("training accuracy (labels trained on)")
        ax.legend(title="corrupted labels", fontsize=7, frameon=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        plt.close(fig)
    write_bytes(png, buf.getvalue())
    n = int(per_net.groupby("label_noise")["seed"].nunique().min())
    rel = png.relative_to(project_root())
    write_text(out_dir / f"{args.experiment}_curves.md",
               f"Mean over networks ({n} per level) of the mean over ablation orders; band: +-1 SD across "
               f"networks. Evidence: `{evidence_path(args.experiment, 'ablation_curves').relative_to(project_root())}`.\n\n"
               f"![{args.experiment} ablation curves]({rel})\n")
    print(f"wrote {out_dir / (args.experiment + '_curves.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
