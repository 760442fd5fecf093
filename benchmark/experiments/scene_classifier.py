"""Training the scene classifiers (and their random-init controls), deterministically from seeds.

    train_classifiers(cfg, data, seeds, workers) -> [(state_dict, metrics)]   (seed order)
    random_classifiers(cfg, n_classes, seeds)    -> [state_dict]               (untrained controls)
    load_scene_classifiers(path)                 -> [(seed, model)]            (trained, seed order)
    load_random_classifiers(path)                -> [(seed, model)]            (random init, seed order)

A seed names one network: its initialization (torch.manual_seed), its data order (a numpy
Generator) and nothing else; each network trains in its own process on one thread
(benchmark.parallel), so its bytes do not depend on `workers`. A random-init control of seed s (params'
`random_seeds`, a list of its own: controls are cheap, so there are more of them) is the same
architecture initialized from seed s + RANDOM_SEED_SHIFT, never trained.
"""

from __future__ import annotations

from benchmark import replicates

import dataclasses
from pathlib import Path

import numpy as np
import torch

from benchmark.data.scene_classes import SceneClasses, to_tensor_range
from benchmark.determinism import seed_everything
from benchmark.experiments.store import load_models
from benchmark.experiments.supervised import fit_cross_entropy
from benchmark.models.scene_classifier import SceneClassifier, build
from benchmark.parallel import map_ordered

RANDOM_SEED_SHIFT = 500_000  # random-init controls never share an initialization with a trained net


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
    channels: tuple[int, ...]
    epochs: int
    lr: float
    batch_size: int


def trained_name(seed: int) -> str:
    return replicates.name(("seed", seed))


def random_name(seed: int) -> str:
    return replicates.name(("random", seed))


@torch.no_grad()
def accuracy(model: SceneClassifier, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> float:
    x = torch.from_numpy(to_tensor_range(images))
    pred = torch.cat([model(x[i:i + batch]).argmax(1) for i in range(0, len(x), batch)]).numpy()
    return float((pred == labels).mean())


def train_classifier(cfg: ClassifierConfig, train: SceneClasses, n_classes: int, seed: int) -> tuple[SceneClassifier, dict]:
    """Adam, cross-entropy, `epochs` passes in a seeded order."""
    rng = seed_everything(seed)
    model = SceneClassifier(n_classes, cfg.channels)
    x = torch.from_numpy(to_tensor_range(train.images))
    y = torch.from_numpy(train.classes.astype(np.int64))
    return model, fit_cross_entropy(model, x, y, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, rng=rng)


def random_classifier(cfg: ClassifierConfig, n_classes: int, seed: int) -> SceneClassifier:
    """The untrained control: PyTorch's default initialization from seed + RANDOM_SEED_SHIFT."""
    torch.manual_seed(seed + RANDOM_SEED_SHIFT)
    return SceneClassifier(n_classes, cfg.channels).eval()


def _train_one(job: dict, seed: int):
    model, metrics = train_classifier(job["cfg"], job["train"], job["n_classes"], seed)
    return model.state_dict(), metrics


def train_classifiers(cfg: ClassifierConfig, train: SceneClasses, n_classes: int, seeds: list[int],
                      workers: int) -> list[tuple[dict, dict]]:
    """One classifier per seed, each in its own single-threaded process (bytes independent of workers)."""
    return map_ordered(_train_one, seeds, workers, desc="train scene classifiers",
                       job={"cfg": cfg, "train": train, "n_classes": n_classes})


def trained_records(cfg: ClassifierConfig, train: SceneClasses, test: SceneClasses, n_classes: int, seeds: list[int],
                    workers: int) -> tuple[dict, dict, list[dict]]:
    """Train one classifier per seed and describe each as the training stages publish it:
    (state dicts, metadata, rows of seed, kind, train/test accuracy, final loss), by name."""
    results = train_classifiers(cfg, train, n_classes, seeds, workers)
    nets, meta, rows = {}, {}, []
    arch = {"n_classes": n_classes, "channels": list(cfg.channels)}
    for seed, (state, metrics) in zip(seeds, results):
        model = build(arch)
        model.load_state_dict(state)
        model.eval()
        nets[trained_name(seed)] = state
        meta[trained_name(seed)] = {**arch, "seed": seed, "kind": "trained"}
        rows.append({"seed": seed, "kind": "trained", "train_accuracy": accuracy(model, train.images, train.classes),
                     "test_accuracy": accuracy(model, test.images, test.classes), "final_loss": metrics["final_loss"]})
    return nets, meta, rows


def _load(path: Path, kind: str) -> list[tuple[int, SceneClassifier]]:
    nets, meta = load_models(path)
    out = []
    for name in nets:
        m = meta[name]
        if m["kind"] != kind:
            continue
        model = build(m)
        model.load_state_dict(nets[name])
        out.append((int(m["seed"]), model.eval()))
    return sorted(out, key=lambda t: t[0])


def load_scene_classifiers(path: Path) -> list[tuple[int, SceneClassifier]]:
    """The trained classifiers saved by stage train_scene_classifier, as (seed, model in eval mode)."""
    return _load(path, "trained")


def load_random_classifiers(path: Path) -> list[tuple[int, SceneClassifier]]:
    """The random-init controls saved beside them (seed: its own, from params' random_seeds)."""
    return _load(path, "random")
