"""leavitt2020's average-case corruptions at paper scale: the published CIFAR-10-C and Tiny
ImageNet-C test sets (Hendrycks & Dietterich 2019), read from paper_data, instead of the embedded
suite's own generated corruptions (benchmark.families.leavitt.corruptions).

Images are standardized with the clean training set's channel statistics, exactly as the clean
test set was, so accuracy under corruption compares like with like. Severities are the files' 1-5.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmark import devices
from benchmark.data import cifar, image_folders
from benchmark.errors import DataError

# dataset -> (its paper_data key, the key of its -C folder)
PAPER_C = {"cifar10": ("cifar10", "cifar10_c"), "tiny_imagenet": ("tiny_imagenet", "tiny_imagenet_c")}


def _path(key: str) -> Path:
    s = devices.snapshot()
    block = s["paper_data"]
    if not block.get(key):
        raise DataError(f"params.yaml: paper_data.{key} is not set (leavitt2020 at paper scale reads it)")
    p = Path(block.get("root") or ".") / block[key]
    return p if p.is_absolute() else Path(s["root"] or ".") / p


def _stats(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    root = _path(PAPER_C[dataset][0])
    key = str(root.resolve())
    if key not in cifar.STATS:  # e.g. a Ray worker: load the clean set once to get them
        (cifar.load_cifar10 if dataset == "cifar10" else image_folders.load_tiny_imagenet)(root)
    return cifar.STATS[key]


@lru_cache(maxsize=8)
def corrupted(dataset: str, kind: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """(standardized images, labels) of `dataset`'s -C set for one corruption and severity, in the
    clean test set's order (CIFAR-10-C is the test set in order; Tiny ImageNet-C is matched by name)."""
    root = _path(PAPER_C[dataset][1])
    if dataset == "cifar10":
        x, y = cifar.load_cifar10_c(root, kind, severity)
    else:
        wnids, _, val = image_folders.tiny_imagenet_files(_path("tiny_imagenet"))
        x, y = image_folders.load_tiny_imagenet_c(root, wnids, kind, severity, order=[p.name for p, _ in val])
    mean, std = _stats(dataset)
    return cifar.normalize(x, mean, std), y
