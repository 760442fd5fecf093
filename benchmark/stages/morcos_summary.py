"""morcos2018 M3: the claims' evidence tables, computed from the probe tables (glue).

    python -m benchmark.stages.morcos_summary course <experiment>
        evidence/<experiment>/course.csv -> course_summary.csv (M3b: slopes of the area before and
        after the test-loss minimum; window from params `probes.course_summary.window`)
    python -m benchmark.stages.morcos_summary ensemble <experiment>
        evidence/<experiment>/reliance.csv -> ensemble.csv (M3a: area and outcomes standardized
        across the ensemble, one row per network and outcome)
Logic: benchmark.probes.morcos_reliance.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import BaseModel, ConfigDict, Field

from benchmark.atomic import write_csv
from benchmark.config import load_params, section
from benchmark.paths import evidence_path
from benchmark.probes.morcos_reliance import course_summary, ensemble_standardized
from benchmark.stages.common import cli
from benchmark.stats.evidence import read_table


class CourseSummary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    window: int = Field(ge=2)


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("what", choices=["course", "ensemble"])
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    if args.what == "course":
        cfg = section(params, "probes.course_summary", CourseSummary, scaled=False)
        table = course_summary(read_table(evidence_path(args.experiment, "course")), cfg.window)
        out = evidence_path(args.experiment, "course_summary")
    else:
        table = ensemble_standardized(read_table(evidence_path(args.experiment, "reliance")))
        out = evidence_path(args.experiment, "ensemble")
    write_csv(out, table)
    print(f"wrote {len(table)} rows to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
