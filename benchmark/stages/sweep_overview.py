"""Report section for a selectivity sweep: overview figure and per-alpha means.

    python -m benchmark.stages.sweep_overview <experiment>
Outputs: evidence/<experiment>/<experiment>_overview.md and .png (the name is unique in reports/figures/)
"""

from __future__ import annotations

import argparse
import sys

from benchmark.atomic import write_bytes, write_text
from benchmark.paths import evidence_path, project_root
from benchmark.reporting.sweep_overview import overview_markdown, overview_png, per_network
from benchmark.steps import cli
from benchmark.stats.evidence import read_table

TABLES = ("layer_selectivity", "corruption", "attack", "dimensionality")


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


if __name__ == "__main__":
    sys.exit(main())
