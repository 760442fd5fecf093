"""morcos2018 M3/M4: the claims' evidence tables, computed from the probe tables (a step).

    python -m benchmark.stages.probe morcos summary <what> <experiment> [<what> <experiment> ...]  (one process)
    course   evidence/<experiment>/course.csv (+ course_loss.csv) -> course_summary.csv (M3b: slopes of the
             chance-corrected area before and after the test-loss minimum; window from params
             `probes.course_summary.window`)
    ensemble evidence/<experiment>/reliance.csv -> ensemble.csv (M3a: area and outcomes standardized
             across the ensemble, one row per network and outcome)
    dropout  evidence/<experiment>/reliance_curves.csv -> dropout_kinks.csv (M4b: the bend of each
             curve at each dropout fraction, with dropout and without, per seed)
Logic: benchmark.families.morcos.reliance.
"""

from __future__ import annotations

import argparse

from benchmark.atomic import write_csv
from benchmark.config import CourseSummary, load_params, section
from benchmark.families.morcos.reliance import course_summary, dropout_kinks, ensemble_standardized
from benchmark.paths import evidence_path
from benchmark.steps import cli
from benchmark.stats.evidence import read_table

WHAT = ("course", "ensemble", "dropout")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("pairs", nargs="+", metavar="WHAT EXPERIMENT", help=f"{'|'.join(WHAT)} and an experiment, one pair or more")
    args = ap.parse_args(argv)
    if len(args.pairs) % 2 or any(w not in WHAT for w in args.pairs[::2]):
        ap.error(f"arguments come in pairs: {'|'.join(WHAT)} <experiment>")
    params = load_params()
    for what, experiment in zip(args.pairs[::2], args.pairs[1::2]):
        if what == "course":
            cfg = section(params, "probes.course_summary", CourseSummary, scaled=False)
            losses = evidence_path(experiment, "course_loss")  # every checkpoint's test loss, if recorded
            table = course_summary(read_table(evidence_path(experiment, "course")), cfg.window,
                                   read_table(losses) if losses.exists() else None)
            out = evidence_path(experiment, "course_summary")
        elif what == "ensemble":
            table = ensemble_standardized(read_table(evidence_path(experiment, "reliance")))
            out = evidence_path(experiment, "ensemble")
        else:
            table = dropout_kinks(read_table(evidence_path(experiment, "reliance_curves")))
            out = evidence_path(experiment, "dropout_kinks")
        write_csv(out, table)
        print(f"wrote {len(table)} rows to {out}")
    return 0
