"""Report section: cumulative-ablation curves per label-corruption level (morcos2018's figure),
mean over networks with a band of +-1 SD across networks.

    python -m benchmark.stages.probe morcos section_curves <experiment>
Outputs: sections/<experiment>_curves.md, sections/<experiment>_curves.png
"""

from __future__ import annotations

import argparse

from benchmark.atomic import write_bytes, write_text
from benchmark.families.morcos.figures import ablation_curves_figure
from benchmark.paths import evidence_path, project_root
from benchmark.steps import cli
from benchmark.stats.evidence import read_table


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
    write_bytes(png, ablation_curves_figure(stats))
    n = int(per_net.groupby("label_noise")["seed"].nunique().min())
    rel = png.relative_to(project_root())
    write_text(out_dir / f"{args.experiment}_curves.md",
               f"Mean over networks ({n} per level) of the mean over ablation orders; band: +-1 SD across "
               f"networks. Evidence: `{evidence_path(args.experiment, 'ablation_curves').relative_to(project_root())}`.\n\n"
               f"![{args.experiment} ablation curves]({rel})\n")
    print(f"wrote {out_dir / (args.experiment + '_curves.md')}")
    return 0

