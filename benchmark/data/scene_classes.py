"""Scene categories over the procedural scenes: the classification task of bau2020's classifier claims.

Why: bau2020 dissects a Places365 scene classifier; here the scenes come from the same composition
rules as benchmark/data/scenes.py (sky, mountains with snow caps, ground/grass, buildings with roof,
windows and door, trees; the same drawers, colour boxes and painter), but a scene's class now
decides its composition, so some concepts are decisive for some classes (snow for a ski resort,
trees for a forest, bare ground for a field). This is a second draw with its own seed and its own
files (data/scene_classes/); the GAN family's data/scenes is untouched.

`CLASS_CONCEPTS` is the one place that says which concepts define which class (used by the claims'
reports and by the feature-visualization family). Classes are balanced exactly (each appears
n / len(CLASSES) times, in a seeded random order). Deterministic: everything is drawn from the
numpy Generator seeded by `seed`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.atomic import write_text
from benchmark.data import scenes
from benchmark.data.scenes import CID, CONCEPTS, SIZE

RECIPE_VERSION = 1
# class -> the concepts whose presence (or abundance) defines it, in the order of importance
CLASS_CONCEPTS: dict[str, tuple[str, ...]] = {
    "village": ("building", "roof", "grass"),        # 1-2 houses on grass or ground, a few trees
    "town": ("building", "window", "door"),           # 3-4 houses, bare ground
    "ski_resort": ("snow", "mountain", "building"),   # snowy mountains behind 1-2 houses
    "snowy_mountains": ("snow", "mountain"),          # snow-capped mountains, no houses
    "rocky_mountains": ("mountain",),                 # mountains without snow, no houses
    "forest": ("tree",),                              # 6-9 trees on grass
    "park": ("grass", "tree"),                        # 1-3 trees on grass
    "meadow": ("grass",),                             # grass only
    "field": ("ground",),                             # bare ground only
}
CLASSES: tuple[str, ...] = tuple(CLASS_CONCEPTS)
_FILES = ("images", "masks", "classes")


@dataclass(frozen=True)
class SceneClasses:
    images: np.ndarray   # uint8 (N, 32, 32, 3)
    masks: np.ndarray    # uint8 (N, 32, 32): index into scenes.CONCEPTS
    classes: np.ndarray  # int64 (N,): index into CLASSES


def _mountains(lab: np.ndarray, rng: np.random.Generator, horizon: int, snow: bool) -> None:
    """scenes' mountain rule (1-3 peaks, slopes 0.7-1.6), with snow caps forced on or off."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    for _ in range(rng.integers(2, 4)):
        peak_x, peak_y = rng.integers(0, SIZE), rng.integers(2, max(3, horizon - 6))
        slope = rng.uniform(0.7, 1.6)
        inside = (yy >= peak_y + slope * np.abs(xx - peak_x)) & (yy < horizon)
        lab[inside] = CID["mountain"]
        if snow:
            lab[inside & (yy < peak_y + rng.integers(3, 6))] = CID["snow"]


def _land(lab: np.ndarray, rng: np.random.Generator, horizon: int, kind: str) -> None:
    """ground, grass, or split (grass left, ground right), below the horizon."""
    below = np.arange(SIZE)[:, None] >= horizon
    if kind == "split":
        cut = rng.integers(6, SIZE - 6)
        land = np.where(np.arange(SIZE)[None, :] < cut, CID["grass"], CID["ground"])
    else:
        land = np.full((1, SIZE), CID[kind])
    lab[:] = np.where(below, land, lab)


def _houses(lab: np.ndarray, rng: np.random.Generator, horizon: int, n: int) -> list[tuple[int, int, int]]:
    spans = []
    for x0 in np.sort(rng.integers(-3, SIZE - 6, size=n)):
        width, height = int(rng.integers(7, 13)), int(rng.integers(7, 13))
        base = int(rng.integers(horizon + 1, min(SIZE, horizon + 8)))
        scenes._draw_building(lab, rng, base, int(x0), width, height)
        spans.append((int(x0), width, base))
    return spans


def _trees(lab: np.ndarray, rng: np.random.Generator, horizon: int, n: int, spans: list) -> None:
    for _ in range(n):
        if spans and rng.random() < 0.5:  # in front of a house
            x0, width, b_base = spans[int(rng.integers(len(spans)))]
            cx, base = x0 + rng.uniform(0, width), int(rng.integers(b_base, min(SIZE, b_base + 4) + 1))
        else:
            cx, base = rng.uniform(0, SIZE), int(rng.integers(horizon + 2, SIZE + 1))
        scenes._draw_tree(lab, rng, base, cx)


def draw_scene(cls: str, rng: np.random.Generator) -> np.ndarray:
    """The label map of one scene of class `cls` (the composition rule of CLASS_CONCEPTS)."""
    lab = np.full((SIZE, SIZE), CID["sky"], dtype=np.uint8)
    horizon = int(rng.integers(13, 23))
    if cls in ("ski_resort", "snowy_mountains", "rocky_mountains"):
        _mountains(lab, rng, horizon, snow=cls != "rocky_mountains")
    land = {"village": ("grass", "ground", "split")[int(rng.integers(3))], "town": "ground",
            "forest": "grass", "park": "grass", "meadow": "grass", "field": "ground"}.get(
        cls, ("grass", "ground", "split")[int(rng.integers(3))])
    _land(lab, rng, horizon, land)
    n_houses = {"village": rng.integers(1, 3), "town": rng.integers(3, 5), "ski_resort": rng.integers(1, 3)}.get(cls, 0)
    spans = _houses(lab, rng, horizon, int(n_houses))
    n_trees = {"village": rng.integers(0, 3), "town": rng.integers(0, 2), "ski_resort": rng.integers(0, 2),
               "snowy_mountains": rng.integers(0, 2), "rocky_mountains": rng.integers(0, 2),
               "forest": rng.integers(6, 10), "park": rng.integers(1, 4)}.get(cls, 0)
    _trees(lab, rng, horizon, int(n_trees), spans)
    return lab


def generate(n: int, rng: np.random.Generator) -> SceneClasses:
    """n scenes, classes balanced exactly (n // K each, the remainder to the first classes), shuffled."""
    classes = rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)
    imgs = np.empty((n, SIZE, SIZE, 3), np.uint8)
    masks = np.empty((n, SIZE, SIZE), np.uint8)
    for i, c in enumerate(classes):
        lab = draw_scene(CLASSES[c], rng)
        imgs[i], masks[i] = scenes._paint(lab, rng), lab
    return SceneClasses(imgs, masks, classes)


def write(directory: Path, num_train: int = 2700, num_test: int = 1800, seed: int = 11) -> None:
    """data/scene_classes/{train,test}_{images,masks,classes}.npy + meta.json (byte-stable)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", num_train), ("test", num_test)):
        scenes.save_split_arrays(directory, split, generate(n, rng), _FILES)
    write_text(directory / "meta.json", json.dumps({"classes": list(CLASSES), "concepts": list(CONCEPTS), "size": SIZE,
                                                    "class_concepts": {k: list(v) for k, v in CLASS_CONCEPTS.items()},
                                                    "recipe_version": RECIPE_VERSION}, sort_keys=True) + "\n")


def load(directory: Path, split: str) -> SceneClasses:
    return SceneClasses(**scenes.load_split_arrays(directory, split, _FILES, "scene_classes"))


to_tensor_range = scenes.to_tensor_range
