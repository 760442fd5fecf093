"""olah2017 O1, O2, O4, the feature-visualization family: the scene classifiers (classifier
dissection's train_scene_classifier) visualized per arm, scored by the scene GAN family's segmenter
(benchmark/families/__init__.py: the protocol)."""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Family, Section, Stage

VISUALIZE = "benchmark.families.feature_vis.visualize"
CONTROLS = "benchmark.families.feature_vis.controls"
DIRECTIONS = "benchmark.families.feature_vis.directions"
INPUTS = ("models/scene_classifier.safetensors", "models/scene_segmenter.safetensors",
          "evidence/scene_gan/segmenter_iou.csv", "data/scene_classes")
PARAMS = ("scale", "seed_offset", "feature_vis", "scene_classifier", "paper_data.root", "paper_data.places365",
          "paper_data.segmenter")

PIPELINE = Family(
    name="feature_vis",
    title="olah2017 O1, O2, O4: feature visualization",
    stages=(
        Stage(
            "probe_feature_vis", "benchmark.stages.probe", "feature_vis visualize", code=(VISUALIZE,),
            comment="olah2017 O1, O2, O4, the feature-visualization family (benchmark/families/feature_vis/): the scene\n"
                    "classifiers (train_scene_classifier) visualized under each objective / parameterization / transform arm,\n"
                    "scored by the scene GAN family's reference segmenter, by spectra, and by the other seeds' networks",
            deps=INPUTS, params=PARAMS,
            outs=("evidence/feature_vis/visualizations.csv", "evidence/feature_vis/objectives.csv",
                  "evidence/feature_vis/diversity.csv", "evidence/feature_vis/regularization.csv",
                  "evidence/feature_vis/transfer.csv", "evidence/feature_vis/spectra.csv",
                  "evidence/feature_vis/convergence.csv", "evidence/feature_vis/section.md",
                  "evidence/feature_vis/arms_grid.png", "evidence/feature_vis/objectives_grid.png",
                  "evidence/feature_vis/diversity_grid.png", "evidence/feature_vis/spectra.png"),
        ),
        Stage(
            "probe_feature_vis_directions", "benchmark.stages.probe", "feature_vis directions", code=(DIRECTIONS,),
            comment="olah2017: random directions of the last conv layer visualized like its channels (the basis directions\n"
                    "of probe_feature_vis's plain arm), their consistency across starts under the reference segmenter",
            deps=(*INPUTS, "evidence/feature_vis/diversity.csv"), params=PARAMS,
            outs=("evidence/feature_vis/directions.csv", "evidence/feature_vis/section_directions.md",
                  "evidence/feature_vis/directions_grid.png"),
        ),
        Stage(
            "controls_feature_vis", "benchmark.stages.probe", "feature_vis controls", code=(CONTROLS,),
            comment="the family's instrument controls (issue 24): a positive and a negative control for every measure that\n"
                    "decides an olah2017 claim, declared in benchmark/families/feature_vis/controls.py",
            deps=INPUTS, params=PARAMS,
            outs=("evidence/controls/feature_vis.csv", "evidence/feature_vis/controls_values.csv"),
        ),
    ),
    sections=(
        Section("Feature visualization: objectives, diversity, regularization (olah2017 O1, O2, O4)",
                "evidence/feature_vis/section.md", 80,
                ("evidence/feature_vis/arms_grid.png", "evidence/feature_vis/objectives_grid.png",
                 "evidence/feature_vis/diversity_grid.png", "evidence/feature_vis/spectra.png")),
        Section("Feature visualization: basis and random directions (olah2017)",
                "evidence/feature_vis/section_directions.md", 81, ("evidence/feature_vis/directions_grid.png",)),
    ),
)

FAMILY = declare(
    PIPELINE,
    visualize=VISUALIZE,     # probe_feature_vis
    directions=DIRECTIONS,   # probe_feature_vis_directions
    controls=CONTROLS,       # controls_feature_vis
)
