"""The overrides that shrink every paper-scale stage to fixture size, in one place.

    python -m benchmark.paper.smoke params.yaml   # rewrites that params file (use a throwaway clone)

`.ci/paper-smoke` clones the repository into a temporary folder, writes the fixture files
(`benchmark.paper.fixtures`), applies these overrides and runs the whole pipeline at paper scale
to the report (two `dvc repro` lanes, `benchmark.pipeline.lanes`): every family end to end on files in
the real formats, no download. The
verdicts are meaningless and say `FIXTURE DATA`. The overrides keep every replicate list at two
networks, every epoch count at one, every probe at a few samples and every network at a fraction of
its paper width through the same builders (MLPs of 32-64 units, `vgg16_narrow`: VGG16 at 1/8 width),
so the run fits CI (README 'Paper scale': its measured time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from benchmark.errors import ParamsError

FIXTURE_ROOT = "data-paper-fixture"

SMOKE_OVERRIDES: dict[str, object] = {
    "scale": "paper", "paper_data.root": FIXTURE_ROOT, "paper_max_epochs": 1, "paper_data.bert": "bert-tiny",
    "calibration.simulations": 10,  # the test kinds' calibration on the fixture tables (200: ~100 CPU-s)
    # morcos2018 M1-M2 (MNIST MLPs)
    "experiments.morcos_selectivity.paper.seeds": [0, 1], "experiments.morcos_selectivity.paper.hidden": [32, 32],
    "experiments.morcos_generalization.paper.seeds": [0, 1], "experiments.morcos_generalization.paper.hidden": [32, 32],
    "experiments.morcos_generalization.paper.label_noise": [0.0, 1.0],
    # morcos2018 M3-M4 (MNIST MLPs; 2048 units wide in the paper)
    "experiments.morcos_ensemble.paper.hidden": [32, 32], "experiments.morcos_course.paper.hidden": [64, 64],
    "experiments.morcos_batchnorm.paper.hidden": [64, 64], "experiments.morcos_dropout.paper.hidden": [64, 64],
    "experiments.morcos_ensemble.paper.seeds": [0, 1], "experiments.morcos_ensemble.paper.lrs": [0.001],
    "experiments.morcos_course.paper.seeds": [0, 1], "experiments.morcos_course.paper.train_subset": 50,
    "experiments.morcos_batchnorm.paper.seeds": [0, 1], "experiments.morcos_dropout.paper.seeds": [0, 1],
    "experiments.morcos_ensemble.paper.group_size": 2, "experiments.morcos_course.paper.group_size": 2,
    "experiments.morcos_batchnorm.paper.group_size": 2, "experiments.morcos_dropout.paper.group_size": 2,
    "experiments.morcos_reference.paper.steps": 10,  # the mnist1d authors' MLP recipe (reference arm)
    # leavitt2021/2020 (ResNet20 / ResNet18 on CIFAR-10 / Tiny ImageNet and their -C sets)
    "experiments.leavitt_selectivity.paper.seeds": [0, 1], "experiments.leavitt_selectivity.paper.alphas": [-1, 0, 1],
    "experiments.leavitt_selectivity_extension.paper.seeds": {"cifar10": [2, 3], "tiny_imagenet": [2, 3]},
    "probes.attack.pgd_steps": 2, "probes.corruption.severities": [1, 2],  # dimensionality reads severity 2
    "probes.attack.epsilons.cifar10": [0.063], "probes.attack.epsilons.tiny_imagenet": [0.063],
    "probes.dimensionality.attack": "fgsm",  # its PGD would take 10 steps (PGD runs in the attack probe)
    "probes.corruption.kinds.cifar10": ["gaussian_noise", "fog"],
    "probes.corruption.kinds.tiny_imagenet": ["gaussian_noise", "fog"],
    # bau2020 B4-B6 (Progressive GAN + segmenter, 32x32 fixtures)
    "gan_dissection.paper.probe.quality_samples": 10, "gan_dissection.paper.probe.dissect_samples": 100,
    "gan_dissection.paper.probe.removal_samples": 100, "gan_dissection.paper.probe.insertion_samples": 100,
    "gan_dissection.paper.probe.classifier_calibration_samples": 50,
    "gan_dissection.paper.probe.classifier_test_samples": 100,
    "gan_dissection.paper.probe.insertion_min_pixels": 4, "gan_dissection.paper.probe.classifier_min_pixels": 8,
    # bau2020 B1-B3, B7, O3 and olah2017 O1, O2, O4 (VGG16 at 1/8 width on Places365 at 64x64, Broden)
    "scene_classifier.paper.arch": "vgg16_narrow",
    "scene_classifier.paper.seeds": [1, 2], "scene_classifier.paper.random_seeds": [1, 2],
    "scene_classifier.paper.batch_size": 4, "scene_classifier.paper.image_size": 64,
    "classifier_dissection.paper.probe.dissect_samples": 10, "classifier_dissection.paper.probe.importance_samples": 10,
    "classifier_dissection.paper.probe.attack_samples": 3, "classifier_dissection.paper.probe.attack_steps": 2,
    "classifier_dissection.paper.probe.random_draws": 2, "classifier_dissection.paper.probe.rotation_powers": [0.0, 1.0],
    "classifier_dissection.paper.broden.layers": ["conv3_3", "conv4_3", "conv5_3"],
    "feature_vis.paper.steps": 2, "feature_vis.paper.classes": ["/a/abbey", "/c/church/outdoor"],
    "feature_vis.paper.units": 2, "feature_vis.paper.diversity_images": 2, "feature_vis.paper.real_per_class": 5,
    "feature_vis.paper.unit_reference_samples": 10,
    # guan2019 G1-G3 (BERT, LSTM, CNN on SST-2)
    "word_information.paper.seeds": [1, 2], "word_information.paper.probe.sentences": 8,
    "word_information.paper.probe.iterations": 10, "word_information.paper.train.width": 32,
}


def apply(params: dict, overrides: dict[str, object], path: str = "params.yaml") -> dict:
    """Set each dotted key; a key that params does not have is an error naming it (a renamed
    param must not silently leave a stage at paper size)."""
    for dotted, value in overrides.items():
        node, keys = params, dotted.split(".")
        for i, key in enumerate(keys[:-1]):
            if not isinstance(node.get(key), dict):
                raise ParamsError(path, ".".join(keys[:i + 1]), "missing (needed by the paper-scale smoke run)")
            node = node[key]
        if keys[-1] not in node:
            raise ParamsError(path, dotted, "missing (needed by the paper-scale smoke run)")
        node[keys[-1]] = value
    return params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("params", type=Path)
    args = ap.parse_args(argv)
    params = apply(yaml.safe_load(args.params.read_text()), SMOKE_OVERRIDES, str(args.params))
    args.params.write_text(yaml.safe_dump(params, sort_keys=False))
    print(f"{args.params}: {len(SMOKE_OVERRIDES)} paper-scale smoke overrides applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
