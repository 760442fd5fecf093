"""Report section for morcos2018 M3/M4: ensemble scatter, area and test loss over training,
ablation curves with batch norm and dropout.

    python -m benchmark.stages.probe morcos section_reliance
Reads evidence/morcos_ensemble/reliance.csv, evidence/morcos_course/{course,course_loss,course_summary}.csv,
evidence/morcos_{batchnorm,dropout}/reliance_curves.csv, evidence/morcos_dropout/dropout_kinks.csv; writes
sections/morcos_reliance.md and its PNGs.
"""

from __future__ import annotations

from benchmark.atomic import write_bytes, write_text
from benchmark.paths import evidence_path, project_root
from benchmark.families.morcos.figures import course_figure, ensemble_figure, regularization_figure
from benchmark.steps import cli
from benchmark.stats.evidence import read_table


@cli
def main(argv=None) -> int:
    out = project_root() / "sections"
    rel = read_table(evidence_path("morcos_ensemble", "reliance"))
    course = read_table(evidence_path("morcos_course", "course"))
    summary = read_table(evidence_path("morcos_course", "course_summary"))
    losses = read_table(evidence_path("morcos_course", "course_loss"))
    kinks = read_table(evidence_path("morcos_dropout", "dropout_kinks"))
    figs = {"morcos_reliance_ensemble.png": ensemble_figure(rel),
            "morcos_reliance_course.png": course_figure(course, summary, losses=losses),
            "morcos_reliance_regularization.png": regularization_figure(
                read_table(evidence_path("morcos_batchnorm", "reliance_curves")),
                read_table(evidence_path("morcos_dropout", "reliance_curves")))}
    for name, png in figs.items():
        write_bytes(out / name, png)
    # A network left out (too few checkpoints in a window, a failed precondition) has NaN slopes:
    # keep both columns whatever they hold, so the text says so (count 0, nan) instead of crashing.
    per = summary.pivot_table(index="seed", columns="window", values="slope", dropna=False) \
        .reindex(columns=["after", "before"])
    change = (per["after"] - per["before"]).describe()
    lag = summary.drop_duplicates("seed")["lag"]
    left_out = len(per) - int(change["count"])
    left_out_note = f" ({left_out} of {len(per)} left out: NaN slope)" if left_out else ""
    k = kinks.pivot_table(index="dropout", columns="arm", values="kink", aggfunc="mean")
    inter = (kinks.pivot_table(index=["seed", "dropout"], columns="arm", values="kink")
             .pipe(lambda w: w["dropout"] - w["none"]).groupby(level="dropout").mean())
    bends = "; ".join(f"p = {p:g}: {k.loc[p, 'dropout']:+.3f} / {k.loc[p, 'none']:+.3f} / {inter.loc[p]:+.3f}" for p in k.index)
    text = (
        f"**Ensemble (M3a).** {len(rel)} networks on clean labels (seeds x learning rates "
        f"{', '.join(f'{lr:g}' for lr in sorted(rel['lr'].unique()))}); one point per network. Ringed: the 5 best and 5 worst generalizers "
        f"(the paper's contrast). Pearson r of area and test accuracy {rel['area_norm'].corr(rel['test_acc']):.2f}, "
        f"of area and test loss {rel['area_norm'].corr(rel['test_loss']):.2f} (descriptive; the claim's test is "
        f"the slope in its own figure).\n\n![ensemble](sections/morcos_reliance_ensemble.png)\n\n"
        f"**Over training (M3b).** Area (chance-corrected: the share of the accuracy above chance kept under "
        f"ablation; at the checkpoints inside the two windows around the test-loss "
        f"minimum, the only ones ablated) and test loss (every checkpoint) for a few networks; "
        f"dotted: the test-loss minimum. Slope change (after - before, per window) over {int(change['count'])} "
        f"networks{left_out_note}: mean {change['mean']:+.3f}, SD {change['std']:.3f} (slope after the minimum alone: mean "
        f"{per['after'].mean():+.3f}, before it: {per['before'].mean():+.3f}, per window). Descriptive: the epoch of maximum area "
        f"lags the test-loss minimum by {lag.mean():+.1f} epochs on average (range {lag.min():+.0f} to {lag.max():+.0f}).\n\n"
        f"![course](sections/morcos_reliance_course.png)\n\n"
        f"**Batch norm and dropout (M4).** Mean cumulative-ablation curve per architecture (band: +-1 SD "
        f"across networks), training accuracy on the training examples. The bend at each dropout fraction p (slope "
        f"over [p, 2p] minus over [0, p]), mean over seeds, with dropout p / without dropout on the same seeds / "
        f"the difference (the claim's interaction): {bends}.\n\n"
        f"![regularization](sections/morcos_reliance_regularization.png)\n")
    write_text(out / "morcos_reliance.md", text)
    print(f"wrote {out / 'morcos_reliance.md'}")
    return 0

