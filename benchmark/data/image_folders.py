"""Image datasets in their distributed folder layouts (paper scale): Tiny ImageNet (and -C),
Places365-Standard, and an exported LSUN category.

Why not torchvision's classes: Places365 (download=False) checks its file lists against the
originals' MD5 sums and LSUN reads the LMDB databases, not an export; both reject a re-exported
copy or a fixture. The layouts below are the ones the datasets ship in.

Tiny ImageNet (tiny-imagenet-200.zip, extracted):
    <root>/wnids.txt                          200 class ids, one a line (label = line index)
    <root>/train/<wnid>/images/*.JPEG         500 per class, 64x64
    <root>/val/images/*.JPEG
    <root>/val/val_annotations.txt            file <TAB> wnid <TAB> x0 y0 x1 y1 (boxes unused)
Tiny ImageNet-C:  <root>/<corruption>/<severity 1-5>/<wnid>/*.JPEG
Places365-Standard (small images, 256x256):
    <root>/categories_places365.txt           "/a/abbey 0", one class a line
    <root>/places365_train_standard.txt       "/a/abbey/00000000.jpg 0"
    <root>/places365_val.txt                  "Places365_val_00000001.jpg 165"
    <root>/data_256/...  (or data_256_standard/) and <root>/val_256/...
LSUN church, exported to images (e.g. the LMDB written out as files): <root>/**/*.{jpg,png,webp}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from benchmark.data.cifar import STATS, channel_stats, normalize
from benchmark.data.splits import Split
from benchmark.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


def read_image(path: Path, size: int | None = None) -> np.ndarray:
    """An image file -> (3, H, W) uint8, RGB; resized (bilinear) to size x size when given."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if size is not None and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1).copy()
    except OSError as exc:
        raise DataError(f"{path}: cannot read image: {exc}") from None


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataError(f"{path}: {what} not found (see README 'Paper scale' for the layout)")
    return path


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def tiny_imagenet_files(root: str | Path) -> tuple[list[str], list[tuple[Path, int]], list[tuple[Path, int]]]:
    """(wnids, [(train image, label)], [(val image, label)]) from the distributed layout."""
    root = Path(root)
    wnids = [w.strip() for w in _need(root / "wnids.txt", "Tiny ImageNet wnids.txt").read_text().splitlines() if w.strip()]
    index = {w: i for i, w in enumerate(wnids)}
    train = [(p, i) for w, i in index.items() for p in _images(_need(root / "train" / w / "images", f"train folder of {w}"))]
    ann = _need(root / "val" / "val_annotations.txt", "Tiny ImageNet val annotations")
    val = []
    for n, line in enumerate(ann.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2 or parts[1] not in index:
            raise DataError(f"{ann}: line {n}: expected 'file<TAB>wnid<TAB>...' with a wnid from wnids.txt")
        val.append((_need(root / "val" / "images" / parts[0], "validation image"), index[parts[1]]))
    return wnids, train, val


def _stack(files: list[tuple[Path, int]], size: int | None) -> tuple[np.ndarray, np.ndarray]:
    x = np.stack([read_image(p, size) for p, _ in files]) if files else np.zeros((0, 3, size or 64, size or 64), np.uint8)
    return x, np.array([y for _, y in files], dtype=np.int64)


def load_tiny_imagenet(root: str | Path) -> Split:
    """Tiny ImageNet train / val as a Split: (N, 3, 64, 64) float32, standardized per channel on the
    training set (the val set is the test set, as in leavitt2021; ~5.4 GB of memory at full size)."""
    wnids, train, val = tiny_imagenet_files(root)
    x_tr, y_tr = _stack(train, 64)
    x_te, y_te = _stack(val, 64)
    mean, std = STATS[str(Path(root).resolve())] = channel_stats(x_tr)
    return Split(normalize(x_tr, mean, std), y_tr, normalize(x_te, mean, std), y_te, n_classes=len(wnids))


def load_tiny_imagenet_c(root: str | Path, wnids: list[str], corruption: str, severity: int,
                         order: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One corruption at one severity: (images (N, 3, 64, 64) uint8, labels by index in `wnids`).
    `order`: file names of the clean val set, in its order (val_annotations.txt): the corrupted
    images come back in that order, paired with the clean ones (needed for per-image changes)."""
    base = _need(Path(root) / corruption / str(severity), f"Tiny ImageNet-C {corruption} severity {severity}")
    index = {w: i for i, w in enumerate(wnids)}
    files = []
    for d in sorted(p for p in base.iterdir() if p.is_dir()):
        if d.name not in index:
            raise DataError(f"{d}: class folder not in Tiny ImageNet's wnids.txt")
        files += [(p, index[d.name]) for p in _images(d)]
    if order is not None:
        by_name = {p.name: (p, y) for p, y in files}
        missing = [n for n in order if n not in by_name]
        if missing:
            raise DataError(f"{base}: {len(missing)} val images missing from the corrupted set, e.g. {missing[0]}")
        files = [by_name[n] for n in order]
    return _stack(files, 64)


class ImageList(torch.utils.data.Dataset):
    """(path, label) pairs decoded on access to (3, size, size) uint8 tensors: for datasets too big
    to hold in memory (Places365: 1.8 M images; LSUN church: 126 k)."""

    def __init__(self, files: list[tuple[Path, int]], size: int, classes: list[str]):
        self.files, self.size, self.classes = files, size, classes

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.files[i]
        return torch.from_numpy(read_image(path, self.size)), label


def places365(root: str | Path, split: str = "train", size: int = 224) -> ImageList:
    """Places365-Standard, small (256x256) images, from its category and file lists."""
    root = Path(root)
    cats = _need(root / "categories_places365.txt", "Places365 category list").read_text().split("\n")
    classes = []
    for n, line in enumerate((c for c in cats if c.strip()), 1):
        name, idx = line.rsplit(maxsplit=1)
        if int(idx) != n - 1:
            raise DataError(f"{root / 'categories_places365.txt'}: line {n}: index {idx}, expected {n - 1}")
        classes.append(name)
    if split == "train":
        listing = _need(root / "places365_train_standard.txt", "Places365 training file list")
        images = next((root / d for d in ("data_256_standard", "data_256") if (root / d).is_dir()), root / "data_256")
    elif split == "val":
        listing, images = _need(root / "places365_val.txt", "Places365 validation file list"), root / "val_256"
    else:
        raise DataError(f"{root}: Places365 split must be 'train' or 'val', got {split!r}")
    files = []
    for n, line in enumerate(listing.read_text().splitlines(), 1):
        parts = line.split()
        if len(parts) != 2 or not 0 <= int(parts[1]) < len(classes):
            raise DataError(f"{listing}: line {n}: expected '<image path> <class index 0-{len(classes) - 1}>'")
        files.append((_need(images / parts[0].lstrip("/"), "Places365 image"), int(parts[1])))
    return ImageList(files, size, classes)


def lsun_folder(root: str | Path, size: int = 256) -> ImageList:
    """An LSUN category exported to image files (any depth), sorted by path; label 0 throughout."""
    root = _need(Path(root), "LSUN image folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{root}: no images (.jpg/.png/.webp) found; export the LSUN LMDB to image files first")
    return ImageList([(p, 0) for p in files], size, ["church_outdoor"])
