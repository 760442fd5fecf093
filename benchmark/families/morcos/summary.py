"""morcos2018 M3: the claims' evidence tables, computed from the probe tables (a step).

    python -m benchmark.stages.probe morcos summary course <experiment> [ensemble <experiment>]  (pairs, one process)
        evidence/<experiment>/course.csv (+ course_loss.csv) -> course_summary.csv (M3b: slopes of the
        area before and after the test-loss minimum; window from params `probes.course_summary.window`)
    python -m benchmark.stages.probe morcos summary ensemble <experiment>
        evidence/<experiment>/reliance.csv -> ensemble.csv (M3a: area and outcomes standardized
        across the ensemble, one row per network and outcome)
Logic: benchmark.families.morcos.reliance.
"""

from __future__ import annotations

import argparse

from benchmark.atomic import write_csv
from benchmark.config import CourseSummary, load_params, section
from benchmark.paths import evidence_path
from benchmark.families.morcos.reliance import course_summary, ensemble_standardized
from benchmark.steps import cli
from benchmark.stats.evidence import read_table


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pairs", nargs="+", metavar="WHAT EXPERIMENT", help="course|ensemble and an experiment, one pair or more")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2 or any(w not in ("course", "ensemble") for w in args.pairs[::2]):
        ap.error("arguments come in pairs: course|ensemble <experiment>")
    params = load_params()
    for what, experiment in zip(args.pairs[::2], args.pairs[1::2]):
        if what == "course":
            cfg = section(params, "probes.course_summary", CourseSummary, scaled=False)
            losses = evidence_path(experiment, "course_loss")  # every checkpoint's test loss, if recorded
            table = course_summary(read_table(evidence_path(experiment, "course")), cfg.window,
                                   read_table(losses) if losses.exists() else None)
            out = evidence_path(experiment, "course_summary")
        else:
            table = ensemble_standardized(read_table(evidence_path(experiment, "reliance")))
            out = evidence_path(experiment, "ensemble")
        write_csv(out, table)
        print(f"wrote {len(table)} rows to {out}")
    return 0

