"""bau2020 B4-B6, the scene GAN family: procedural scenes -> a reference segmenter and
independently trained generators -> dissection and interventions (benchmark/families/__init__.py:
the protocol)."""

from benchmark.families.declare import declare
from benchmark.pipeline.spec import Family, Section, Stage

STEPS = "benchmark.families.scene_gan.steps"

PIPELINE = Family(
    name="scene_gan",
    title="bau2020 B4-B6: scene GAN dissection and interventions",
    stages=(
        Stage(
            "train_scene_gan_segmenter", "benchmark.stages.train", "scene_gan segmenter", code=(STEPS,),
            comment="bau2020 B4-B6, the scene GAN family (benchmark/families/scene_gan/): scenes ->\n"
                    "reference segmenter + independently trained generators -> dissection/interventions -> claims",
            deps=("data/scenes",),
            params=("scale", "seed_offset", "gan_dissection.embedded.segmenter", "gan_dissection.paper", "paper_data.root",
                    "paper_data.segmenter", "paper_data.lsun_church"),
            outs=("models/scene_segmenter.safetensors", "evidence/scene_gan/segmenter_iou.csv",
                  "evidence/scene_gan/section_scenes.md", "evidence/scene_gan/scenes_grid.png"),
        ),
        Stage(
            "train_scene_gan", "benchmark.stages.train", "scene_gan gan", code=(STEPS,),
            deps=("data/scenes",),
            params=("scale", "seed_offset", "gan_dissection.embedded.gan", "gan_dissection.paper", "paper_data.root",
                    "paper_data.gan_weights"),
            outs=("models/scene_gan.safetensors", "evidence/scene_gan/training.csv"),
        ),
        Stage(
            "probe_scene_gan", "benchmark.stages.probe", "scene_gan probe", code=(STEPS,),
            deps=("models/scene_segmenter.safetensors", "models/scene_gan.safetensors", "evidence/scene_gan/training.csv",
                  "evidence/scene_gan/segmenter_iou.csv", "data/scenes"),
            params=("scale", "seed_offset", "gan_dissection.embedded.probe", "gan_dissection.paper", "paper_data.root",
                    "paper_data.gan_weights", "paper_data.segmenter", "paper_data.lsun_church"),
            outs=("evidence/scene_gan/quality.csv", "evidence/scene_gan/dissection.csv",
                  "evidence/scene_gan/tree_removal.csv", "evidence/scene_gan/door_insertion.csv",
                  "evidence/scene_gan/window_unit.csv", "evidence/scene_gan/section_gan.md",
                  "evidence/scene_gan/removal_grid.png"),
        ),
        Stage(
            "controls_scene_gan", "benchmark.stages.probe", "scene_gan controls", code=(STEPS,),
            comment="the instruments' positive and negative controls (benchmark/families/scene_gan/controls.py)",
            deps=("models/scene_segmenter.safetensors", "models/scene_gan.safetensors", "evidence/scene_gan/training.csv",
                  "evidence/scene_gan/segmenter_iou.csv", "evidence/scene_gan/dissection.csv", "data/scenes"),
            params=("scale", "seed_offset", "gan_dissection.embedded.probe", "gan_dissection.embedded.controls",
                    "gan_dissection.paper", "paper_data.root", "paper_data.gan_weights", "paper_data.segmenter",
                    "paper_data.lsun_church"),
            outs=("evidence/controls/scene_gan.csv", "evidence/scene_gan/controls_null.csv",
                  "evidence/scene_gan/section_controls.md"),
        ),
    ),
    sections=(
        Section("Scenes and reference segmenter (bau2020 B4-B6)", "evidence/scene_gan/section_scenes.md", 40,
                ("evidence/scene_gan/scenes_grid.png",)),
        Section("Scene GAN: quality, dissection, interventions (bau2020 B4-B6)", "evidence/scene_gan/section_gan.md", 50,
                ("evidence/scene_gan/removal_grid.png",)),
        Section("Scene GAN: controls of its instruments, the null of its dissection (bau2020 B4-B6)",
                "evidence/scene_gan/section_controls.md", 51),
    ),
)

FAMILY = declare(
    PIPELINE,
    segmenter=f"{STEPS}:segmenter",   # train_scene_gan_segmenter
    gan=f"{STEPS}:gan",               # train_scene_gan
    probe=f"{STEPS}:probe",           # probe_scene_gan
    controls=f"{STEPS}:controls",     # controls_scene_gan
)
