"""bau2020 B1-B3, B7 and bau2017 vs szegedy2013 O3: scene classifiers (shared with the
feature-visualization family) and their random-init controls, dissected, edited, attacked and
rotated (benchmark/families/__init__.py: the protocol)."""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Family, Section, Stage

PACKAGE = "benchmark.families.classifier_dissection"

PIPELINE = Family(
    name="classifier_dissection",
    title="bau2020 B1-B3, B7; bau2017 vs szegedy2013 O3: dissecting scene classifiers",
    stages=(
        Stage(
            "train_scene_classifier", "benchmark.stages.train", "classifier_dissection scene_classifiers",
            code=(f"{PACKAGE}.shared_classifiers",),
            comment="Scene classifiers (stem scene_classifier), shared by the classifier-dissection family (bau2020\n"
                    "B1-B3, B7; bau2017/szegedy2013 O3) and the feature-visualization family",
            deps=("data/scene_classes",),
            params=("scale", "seed_offset", "scene_classifier", "paper_data.root", "paper_data.places365",
                    "paper_max_epochs"),
            outs=("models/scene_classifier.safetensors", "evidence/scene_classifier/training.csv"),
        ),
        Stage(
            "train_classifier_dissection", "benchmark.stages.train", "classifier_dissection replicates",
            code=(f"{PACKAGE}.replicate_classifiers",),
            comment="bau2020 B1-B3, B7 and bau2017 vs szegedy2013 O3 (stem classifier_dissection): the scene\n"
                    "classifiers and their random-init controls dissected, edited, attacked and rotated\n"
                    "B1 and the O3 pair (version 2): extra classifiers of the shared recipe, on their own seeds",
            deps=("data/scene_classes",),
            params=("scale", "seed_offset", "scene_classifier", "classifier_dissection.embedded.replicates",
                    "paper_data.places365"),
            outs=("models/classifier_dissection.safetensors", "evidence/classifier_dissection/training.csv"),
        ),
        Stage(
            "probe_classifier_dissection", "benchmark.stages.probe", "classifier_dissection probe",
            code=(f"{PACKAGE}.run_probe",),
            deps=("models/scene_classifier.safetensors", "models/classifier_dissection.safetensors",
                  "data/scene_classes"),
            params=("scale", "seed_offset", "scene_classifier", "classifier_dissection", "paper_data.root",
                    "paper_data.places365", "paper_data.broden"),
            outs=("evidence/classifier_dissection/dissection.csv", "evidence/classifier_dissection/detectors.csv",
                  "evidence/classifier_dissection/deepest_objects.csv",
                  "evidence/classifier_dissection/class_removal.csv",
                  "evidence/classifier_dissection/unit_importance.csv", "evidence/classifier_dissection/attacks.csv",
                  "evidence/classifier_dissection/rotation.csv", "evidence/classifier_dissection/rotation_fall.csv",
                  "evidence/classifier_dissection/section.md",
                  "evidence/classifier_dissection/dissection_summary.png",
                  "evidence/classifier_dissection/detector_units.png",
                  "evidence/classifier_dissection/removal_curves.png",
                  "evidence/classifier_dissection/rotation_curve.png"),
        ),
        Stage(
            "controls_classifier_dissection", "benchmark.stages.probe", "classifier_dissection controls",
            code=(f"{PACKAGE}.controls",),
            comment="the instruments' positive and negative controls (benchmark/families/classifier_dissection/\n"
                    "controls.py): dissection IoU, rotation, unit importance and removal, attacks",
            deps=("models/scene_classifier.safetensors", "data/scene_classes",
                  "evidence/classifier_dissection/detectors.csv"),
            params=("scale", "seed_offset", "scene_classifier", "classifier_dissection"),
            outs=("evidence/controls/classifier_dissection.csv",),
        ),
    ),
    sections=(
        Section("Dissecting scene classifiers (bau2020 B1-B3, B7; bau2017 vs szegedy2013 O3)",
                "evidence/classifier_dissection/section.md", 90,
                ("evidence/classifier_dissection/dissection_summary.png", "evidence/classifier_dissection/detector_units.png",
                 "evidence/classifier_dissection/removal_curves.png", "evidence/classifier_dissection/rotation_curve.png")),
    ),
)

FAMILY = declare(
    PIPELINE,
    scene_classifiers=f"{PACKAGE}.shared_classifiers",   # train_scene_classifier (shared with feature_vis)
    replicates=f"{PACKAGE}.replicate_classifiers",       # train_classifier_dissection
    probe=f"{PACKAGE}.run_probe",                        # probe_classifier_dissection
    controls=f"{PACKAGE}.controls",                      # controls_classifier_dissection
)
