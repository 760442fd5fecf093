"""morcos2018 M1-M4: MLPs on mnist1d, single-unit and cumulative ablation, reliance on single
directions over an ensemble, over training, with batch norm and dropout (benchmark/families/__init__.py:
the protocol). The declarations only: the steps' code is in this folder's other modules."""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Family, Plot, Section, Stage

PIPELINE = Family(
    name="morcos",
    title="morcos2018 M1-M4: selectivity vs importance, ablation and generalization, reliance",
    stages=(
        Stage(
            "train", "benchmark.stages.train", "morcos mlp ${item}", code=("benchmark.families.morcos.mlp_training",),
            foreach=("morcos_selectivity", "morcos_generalization"),
            deps=("data/mnist1d",),
            params=("scale", "seed_offset", "paper_max_epochs", "experiments.${item}", "paper_data"),
            outs=("models/${item}.safetensors", "evidence/${item}/training.csv"),
        ),
        Stage(
            "train_morcos_reference", "benchmark.stages.train", "morcos reference morcos_reference",
            code=("benchmark.families.morcos.reference",),
            comment="The mnist1d authors' own MLP recipe on the same data: the reference arm beside the family's\n"
                    "mnist1d MLPs (issue 25; the authors report 68%)",
            deps=("data/mnist1d",),
            params=("scale", "seed_offset", "experiments.morcos_reference"),
            outs=("models/morcos_reference.safetensors", "evidence/morcos_reference/training.csv"),
        ),
        Stage(
            "controls_morcos", "benchmark.stages.probe", "morcos controls",
            code=("benchmark.families.morcos.controls",),
            comment="The family's instrument controls on networks whose answers are known (no training, no data)",
            params=("seed_offset",),
            outs=("evidence/controls/morcos.csv",),
        ),
        Stage(
            "probe_unit_ablation", "benchmark.stages.probe", code=("benchmark.families.morcos.probes",),
            args="morcos registry unit_ablation morcos_selectivity",
            deps=("models/morcos_selectivity.safetensors",),
            params=("probes.unit_ablation",),
            outs=("evidence/morcos_selectivity/unit_ablation.csv",),
        ),
        Stage(
            "probe_cumulative_ablation", "benchmark.stages.probe", code=("benchmark.families.morcos.probes",),
            args="morcos registry cumulative_ablation morcos_generalization",
            deps=("models/morcos_generalization.safetensors",),
            params=("probes.cumulative_ablation",),
            outs=("evidence/morcos_generalization/ablation_auc.csv", "evidence/morcos_generalization/ablation_curves.csv"),
        ),
        Stage(
            "probe_noise_robustness", "benchmark.stages.probe", code=("benchmark.families.morcos.probes",),
            args="morcos registry noise_robustness morcos_generalization",
            deps=("models/morcos_generalization.safetensors",),
            params=("probes.noise_robustness",),
            outs=("evidence/morcos_generalization/noise_auc.csv", "evidence/morcos_generalization/noise_curves.csv"),
        ),
        Stage(
            "section_morcos_units", "benchmark.stages.probe", "morcos section_units",
            code=("benchmark.families.morcos.section_units",),
            deps=("evidence/morcos_selectivity/unit_ablation.csv", "evidence/morcos_selectivity/training.csv",
                  "evidence/morcos_generalization/training.csv", "evidence/morcos_reference/training.csv",
                  "evidence/morcos_generalization/noise_auc.csv", "evidence/morcos_generalization/noise_curves.csv"),
            outs=("sections/morcos_units.md", "sections/morcos_units_correlations.png", "sections/morcos_noise_curves.png"),
        ),
        Stage(
            "section_ablation_curves", "benchmark.stages.probe", "morcos section_curves morcos_generalization",
            code=("benchmark.families.morcos.section_curves",),
            deps=("evidence/morcos_generalization/ablation_curves.csv",),
            outs=("sections/morcos_generalization_curves.md", "sections/morcos_generalization_curves.png"),
        ),
        Stage(
            "train_morcos_reliance", "benchmark.stages.train",
            "morcos reliance morcos_ensemble morcos_course morcos_batchnorm morcos_dropout",
            code=("benchmark.families.morcos.reliance_training",),
            comment="morcos2018 M3/M4: reliance on single directions across an ensemble, over training, with batch\n"
                    "norm and dropout (benchmark/families/morcos/, benchmark/models/morcos_variants.py)\n"
                    "one process per phase (import once; every group / network of the four experiments in one pool)",
            deps=("data/mnist1d",),
            params=("scale", "seed_offset", "paper_max_epochs", "experiments.morcos_ensemble", "experiments.morcos_course",
                    "experiments.morcos_batchnorm", "experiments.morcos_dropout", "paper_data"),
            outs=("models/morcos_ensemble.safetensors", "evidence/morcos_ensemble/training.csv",
                  "models/morcos_course.safetensors", "evidence/morcos_course/training.csv",
                  "evidence/morcos_course/course_loss.csv",
                  "models/morcos_batchnorm.safetensors", "evidence/morcos_batchnorm/training.csv",
                  "models/morcos_dropout.safetensors", "evidence/morcos_dropout/training.csv"),
        ),
        Stage(
            "probe_reliance", "benchmark.stages.probe", code=("benchmark.families.morcos.probes",),
            args="morcos registry reliance morcos_ensemble reliance morcos_course reliance_fine morcos_batchnorm reliance_fine morcos_dropout",
            deps=("models/morcos_ensemble.safetensors", "models/morcos_course.safetensors",
                  "models/morcos_batchnorm.safetensors", "models/morcos_dropout.safetensors"),
            params=("probes.reliance", "probes.reliance_fine"),
            outs=("evidence/morcos_ensemble/reliance.csv", "evidence/morcos_ensemble/reliance_curves.csv",
                  "evidence/morcos_ensemble/reliance_scores.csv",
                  "evidence/morcos_course/course.csv", "evidence/morcos_course/reliance.csv",
                  "evidence/morcos_course/reliance_curves.csv", "evidence/morcos_course/reliance_scores.csv",
                  "evidence/morcos_batchnorm/reliance.csv", "evidence/morcos_batchnorm/reliance_curves.csv",
                  "evidence/morcos_batchnorm/reliance_scores.csv",
                  "evidence/morcos_dropout/reliance.csv", "evidence/morcos_dropout/reliance_curves.csv",
                  "evidence/morcos_dropout/reliance_scores.csv"),
        ),
        Stage(
            "summary_reliance", "benchmark.stages.probe",
            "morcos summary ensemble morcos_ensemble course morcos_course dropout morcos_dropout",
            code=("benchmark.families.morcos.summary",),
            deps=("evidence/morcos_ensemble/reliance.csv", "evidence/morcos_course/course.csv",
                  "evidence/morcos_course/course_loss.csv", "evidence/morcos_dropout/reliance_curves.csv"),
            params=("probes.course_summary",),
            outs=("evidence/morcos_ensemble/ensemble.csv", "evidence/morcos_course/course_summary.csv",
                  "evidence/morcos_dropout/dropout_kinks.csv"),
        ),
        Stage(
            "section_morcos_reliance", "benchmark.stages.probe", "morcos section_reliance",
            code=("benchmark.families.morcos.section_reliance",),
            deps=("evidence/morcos_ensemble/reliance.csv", "evidence/morcos_course/course.csv",
                  "evidence/morcos_course/course_loss.csv", "evidence/morcos_course/course_summary.csv",
                  "evidence/morcos_batchnorm/reliance_curves.csv", "evidence/morcos_dropout/reliance_curves.csv",
                  "evidence/morcos_dropout/dropout_kinks.csv"),
            outs=("sections/morcos_reliance.md", "sections/morcos_reliance_ensemble.png",
                  "sections/morcos_reliance_course.png", "sections/morcos_reliance_regularization.png"),
        ),
    ),
    sections=(
        Section("Selectivity, information and importance; the mnist1d proxies (morcos2018 M1, M2)",
                "sections/morcos_units.md", 5,
                ("sections/morcos_units_correlations.png", "sections/morcos_noise_curves.png")),
        Section("Cumulative ablation curves (morcos2018)", "sections/morcos_generalization_curves.md", 10,
                ("sections/morcos_generalization_curves.png",)),
        Section("Reliance on single directions: ensemble, training, batch norm, dropout (morcos2018 M3-M4)",
                "sections/morcos_reliance.md", 20,
                ("sections/morcos_reliance_ensemble.png", "sections/morcos_reliance_course.png",
                 "sections/morcos_reliance_regularization.png")),
    ),
    plots=(
        Plot("ablation_curves", "Cumulative random ablation (morcos2018), one point per network, order and fraction",
             "scatter", "fraction", "reports/plots/ablation_curves.csv", "accuracy",
             source="evidence/morcos_generalization/ablation_curves.csv"),
    ),
)


FAMILY = declare(
    PIPELINE,
    mlp="benchmark.families.morcos.mlp_training",                  # train@morcos_selectivity, @morcos_generalization
    reliance="benchmark.families.morcos.reliance_training",        # train_morcos_reliance (M3/M4)
    registry="benchmark.families.morcos.probes",                  # the family's registered probes on saved networks
    summary="benchmark.families.morcos.summary",                   # summary_reliance (M3a, M3b tables)
    section_curves="benchmark.families.morcos.section_curves",     # section_ablation_curves (M2)
    section_reliance="benchmark.families.morcos.section_reliance",  # section_morcos_reliance (M3/M4)
    section_units="benchmark.families.morcos.section_units",       # section_morcos_units (M1, proxies, noise)
    reference="benchmark.families.morcos.reference",               # train_morcos_reference (mnist1d authors' MLP)
    controls="benchmark.families.morcos.controls",                 # controls_morcos (evidence/controls/morcos.csv)
)
