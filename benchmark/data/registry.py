"""Datasets by name: embedded ones are generated into data/ (pinned by data.dvc); paper-scale ones
are read from local files in their original format whose location is given in params.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from benchmark.data import cifar, digits_gen, idx, image_folders, mnist1d_gen, scene_classes, scenes, sentiment_corpus
from benchmark.data.splits import Split
from benchmark.data.store import data_dir, load_split
from benchmark.errors import ParamsError
from benchmark.paths import project_root

# name -> generator taking that dataset's params block from params.yaml `data:`
EMBEDDED: dict[str, Callable[..., Split]] = {
    "mnist1d": mnist1d_gen.generate,
    "digits": digits_gen.generate,
}
# name -> writer(directory, **params) for embedded datasets with their own file layout (images +
# masks do not fit a Split); also generated into data/ and pinned by data.dvc
WRITERS: dict[str, Callable[..., None]] = {
    "scenes": scenes.write,
    "sentiment": sentiment_corpus.write,   # guan2019: words with known relevance
    "scene_classes": scene_classes.write,
}
# name -> loader taking a local path from params.yaml `paper_data:`
PAPER: dict[str, Callable[[Path], Split]] = {
    "mnist": idx.load_mnist,
    "cifar10": cifar.load_cifar10,
    "tiny_imagenet": image_folders.load_tiny_imagenet,
}


def load_dataset(name: str, params: dict) -> Split:
    path = params.get("_path", "params.yaml")
    if name in EMBEDDED:
        return load_split(data_dir() / name)
    if name in PAPER:
        return PAPER[name](paper_path(name, params))
    raise ParamsError(path, "dataset", f"unknown dataset {name!r}; known: {sorted(EMBEDDED) + sorted(PAPER)}")


def paper_path(name: str, params: dict) -> Path:
    """Where params' `paper_data.<name>` points: relative paths are under `paper_data.root`
    (itself relative to the project), so `-S paper_data.root=DIR` switches every dataset at once."""
    path = params.get("_path", "params.yaml")
    block = params.get("paper_data") or {}
    local = block.get(name)
    if not local:
        raise ParamsError(path, f"paper_data.{name}", "path to the local files is not set")
    root = Path(block.get("root") or ".")
    p = Path(local)
    if not p.is_absolute():
        p = root / p
    return p if p.is_absolute() else project_root() / p
