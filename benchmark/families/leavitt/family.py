"""leavitt2021 / leavitt2020: the selectivity regularizer's sweep, its manipulation checks,
accuracy, robustness and dimensionality (benchmark/families/__init__.py: the protocol).

One selectivity-regularization sweep (and L2 v3's extension), probed for selectivity, corruption
and attack robustness and dimensionality without retraining.
"""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Dep, Family, Plot, Section, Stage

SWEEP = "benchmark.families.leavitt.sweep"
EXTENSION = "benchmark.families.leavitt.extension"
OVERVIEW = "benchmark.families.leavitt.overview"
CONTROLS = "benchmark.families.leavitt.controls"
SWEEP_TABLES = tuple(f"evidence/leavitt_selectivity/{t}.csv" for t in ("layer_selectivity", "corruption", "attack",
                                                                     "dimensionality"))
RUNNER = "benchmark.families.leavitt.probes"  # its probes registered, then the shared runner

PIPELINE = Family(
    name="leavitt",
    title="leavitt2021 / leavitt2020: the selectivity-regularization sweep",
    stages=(
        Stage(
            "train_selectivity_sweep", "benchmark.stages.train", "leavitt sweep leavitt_selectivity", code=(SWEEP,),
            comment="leavitt2021 / leavitt2020: one selectivity-regularization sweep, probed without retraining",
            deps=("data/mnist1d", "data/digits"),
            params=("scale", "seed_offset", "paper_max_epochs", "device", "amp", "experiments.leavitt_selectivity",
                    "paper_data"),
            outs=("models/leavitt_selectivity.safetensors", "evidence/leavitt_selectivity/training.csv"),
        ),
        Stage(
            "train_selectivity_extension", "benchmark.stages.train", "leavitt extension leavitt_selectivity",
            code=(EXTENSION,),
            comment="leavitt2021 L2 v3: more seeds at alpha 0 / 1 only, with each network's class selectivity",
            deps=("data/mnist1d", "data/digits"),
            params=("scale", "seed_offset", "device", "experiments.leavitt_selectivity",
                    "experiments.leavitt_selectivity_extension", "paper_data"),
            outs=("models/leavitt_selectivity_extension.safetensors",
                  "evidence/leavitt_selectivity_extension/training.csv",
                  "evidence/leavitt_selectivity_extension/layer_selectivity.csv"),
        ),
        Stage(
            "probe_selectivity_sweep", "benchmark.stages.probe", code=(RUNNER,),
            args="leavitt registry layer_selectivity,corruption,attack,dimensionality leavitt_selectivity",
            note="the four probes in one process: one load, attacks shared (benchmark/probes/runner.py)",
            deps=("models/leavitt_selectivity.safetensors",),
            params=("scale", "paper_data", "probes.layer_selectivity", "probes.corruption", "probes.attack",
                    "probes.dimensionality"),
            outs=SWEEP_TABLES,
        ),
        Stage(
            "controls_leavitt", "benchmark.stages.probe", "leavitt controls leavitt_selectivity", code=(CONTROLS,),
            comment="the family's instrument controls (positive and negative) for the selectivity index, the\n"
                    "regularizer, corruptions, attacks and dimensionality: evidence/controls/leavitt.csv",
            deps=("data/mnist1d", "data/digits", *SWEEP_TABLES),
            params=("scale", "experiments.leavitt_selectivity"),
            outs=("evidence/controls/leavitt.csv",),
        ),
        Stage(
            "sweep_overview", "benchmark.stages.probe", "leavitt overview leavitt_selectivity", code=(OVERVIEW,),
            deps=(*SWEEP_TABLES, "evidence/leavitt_selectivity/training.csv",
                  Dep("pilots/leavitt/reference.csv", "the mnist1d authors' recipe, trained once")),
            outs=("evidence/leavitt_selectivity/leavitt_selectivity_overview.md",
                  "evidence/leavitt_selectivity/leavitt_selectivity_overview.png"),
        ),
    ),
    sections=(
        Section("Selectivity sweep, leavitt2021/leavitt2020 (evidence overview)",
                "evidence/leavitt_selectivity/leavitt_selectivity_overview.md", 70,
                ("evidence/leavitt_selectivity/leavitt_selectivity_overview.png",)),
    ),
    plots=(
        Plot("selectivity_sweep", "Mean class selectivity per layer over the regularizer's alpha (leavitt2021)",
             "scatter", "alpha", "reports/plots/selectivity_sweep.csv", "mean_selectivity",
             source="evidence/leavitt_selectivity/layer_selectivity.csv"),
    ),
)

FAMILY = declare(
    PIPELINE,
    sweep=SWEEP,            # train_selectivity_sweep
    extension=EXTENSION,    # train_selectivity_extension
    registry=RUNNER,        # probe_selectivity_sweep: the probe registry's probes on saved networks
    overview=OVERVIEW,      # sweep_overview: the family's report section
    controls=CONTROLS,      # controls_leavitt: the instruments' positive and negative controls
)
