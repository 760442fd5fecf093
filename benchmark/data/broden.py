"""Broden (Bau et al. 2017, the labelled-pixel dataset of network dissection) in its distributed
layout, read from local files (`paper_data.broden`; e.g. broden1_224 extracted). Nothing downloads.

Layout read here:
    <root>/label.csv     number,name,category,frequency,coverage,syns: one row per label number
                         (0 is unlabelled)
    <root>/index.csv     image,split,ih,iw,sh,sw,<category>...: one row per image; each category
                         column (color, object, part, material, scene, texture) holds ';'-separated
                         entries: a segmentation PNG under images/, or an integer label for the
                         whole image
    <root>/images/...    the images (ih x iw) and segmentation PNGs (sh x sw), whose pixel label
                         number is R + 256 G
Per pixel Broden is multi-label (an object, its part, a material at once): `masks` returns one
label-number layer per entry, as distributed.

Why here: bau2017/bau2020 dissected classifiers against Broden's labelled pixels; the paper-scale
classifier dissection (benchmark.families.classifier_dissection.paper) reads it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

from benchmark.errors import DataError

META = ("image", "split", "ih", "iw", "sh", "sw")


def _need(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DataError(f"{path}: {what} not found (Broden layout: README 'Paper scale')")
    return path


def labels(root: str | Path) -> dict[int, str]:
    """Label number -> name, from label.csv."""
    path = _need(Path(root) / "label.csv", "Broden label list")
    out = {}
    with open(path, newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            try:
                out[int(row["number"])] = row["name"]
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: line {n}: expected columns number,name,... with an integer number") from None
    return out


def label_categories(root: str | Path) -> dict[int, set[str]]:
    """Label number -> the categories it appears in, from label.csv's `category` field
    ("object(12);part(3)": category names with counts)."""
    path = _need(Path(root) / "label.csv", "Broden label list")
    out = {}
    with open(path, newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh), 2):
            try:
                out[int(row["number"])] = {c.split("(")[0].strip() for c in (row.get("category") or "").split(";") if c.strip()}
            except (KeyError, TypeError, ValueError):
                raise DataError(f"{path}: line {n}: expected columns number,name,category,... with an integer number") from None
    return out


def index(root: str | Path, split: str | None = None) -> list[dict]:
    """Rows of index.csv (optionally one split): meta fields, and per category a list of PNG
    paths (str) or whole-image label numbers (int)."""
    path = _need(Path(root) / "index.csv", "Broden image index")
    rows = []
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in META if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: columns {missing} missing (expected {', '.join(META)}, then categories)")
        for n, row in enumerate(reader, 2):
            try:
                rec = {"image": row["image"], "split": row["split"], **{k: int(row[k]) for k in META[2:]}}
            except ValueError:
                raise DataError(f"{path}: line {n}: ih, iw, sh, sw must be integers") from None
            for cat, val in row.items():
                if cat not in META:
                    rec[cat] = [int(v) if v.isdigit() else v for v in (val or "").split(";") if v]
            if split is None or rec["split"] == split:
                rows.append(rec)
    return rows


def image(root: str | Path, row: dict) -> np.ndarray:
    """The row's image, (3, ih, iw) uint8 RGB."""
    path = _need(Path(root) / "images" / row["image"], "Broden image")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1).copy()


def masks(root: str | Path, row: dict, categories=("object", "part", "material")) -> np.ndarray:
    """Label-number layers (L, sh, sw) int32 of the given categories (one per entry; a whole-image
    label fills its layer); (0, sh, sw) when the image has none."""
    layers = []
    for cat in categories:
        for entry in row.get(cat, []):
            if isinstance(entry, int):
                layers.append(np.full((row["sh"], row["sw"]), entry, np.int32))
                continue
            path = _need(Path(root) / "images" / entry, "Broden segmentation")
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"), dtype=np.int32)
            if rgb.shape[:2] != (row["sh"], row["sw"]):
                raise DataError(f"{path}: {rgb.shape[1]}x{rgb.shape[0]} pixels, index.csv says {row['sw']}x{row['sh']}")
            layers.append(rgb[:, :, 0] + 256 * rgb[:, :, 1])
    return np.stack(layers) if layers else np.zeros((0, row["sh"], row["sw"]), np.int32)
