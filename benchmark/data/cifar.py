"""CIFAR-10 from the original python pickle batches, and CIFAR-10-C from its .npy files (paper scale).

Why not torchvision.datasets.CIFAR10: with download=False it still checks every batch against the
original archive's MD5 sums, so it rejects any re-exported copy (and any test fixture). We read the
same layout ourselves, with an unpickler that only builds dicts, lists, bytes and numpy arrays: a
pickle from a shared drive can run code, this one cannot.

Layout (as extracted from cifar-10-python.tar.gz):
    <root>/data_batch_1 ... data_batch_5, test_batch, batches.meta   (root may be cifar-10-batches-py)
CIFAR-10-C (Hendrycks & Dietterich 2019, as distributed):
    <root>/<corruption>.npy  (50000, 32, 32, 3) uint8: severities 1-5, 10000 test images each
    <root>/labels.npy        (50000,) labels, the test labels repeated per severity
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from benchmark.data.splits import Split
from benchmark.errors import DataError

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_ALLOWED = {("builtins", "dict"), ("builtins", "list"), ("builtins", "bytes"), ("builtins", "str"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"), ("_codecs", "encode")}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data batch")
        return super().find_class(module, name)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One pickle batch -> (images (N, 3, 32, 32) uint8, labels (N,) int64)."""
    try:
        with open(path, "rb") as fh:
            d = _SafeUnpickler(io.BytesIO(fh.read()), encoding="bytes").load()
    except (OSError, pickle.UnpicklingError, EOFError) as exc:
        raise DataError(f"{path}: cannot read CIFAR-10 batch: {exc}") from None
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
    for field in ("data", "labels"):
        if field not in d:
            raise DataError(f"{path}: CIFAR-10 batch has no '{field}' entry")
    x = np.asarray(d["data"], dtype=np.uint8)
    if x.ndim != 2 or x.shape[1] != 3072:
        raise DataError(f"{path}: field 'data' must be (N, 3072) uint8, got {x.shape}")
    y = np.asarray(d["labels"], dtype=np.int64)
    if len(y) != len(x) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise DataError(f"{path}: field 'labels' must hold {len(x)} labels in 0-9")
    return x.reshape(-1, 3, 32, 32), y


def _root(root: Path) -> Path:
    root = Path(root)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    if not root.is_dir():
        raise DataError(f"{root}: CIFAR-10 directory not found (set paper_data.cifar10, see README 'Paper scale')")
    return root


def channel_stats(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and SD of uint8 training images (N, C, H, W), in [0, 1] units."""
    x = x_train.astype(np.float64) / 255.0
    return x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))


def normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    return ((x.astype(np.float32) / 255.0 - mean[None, :, None, None].astype(np.float32))
            / std[None, :, None, None].astype(np.float32))


def load_cifar10_raw(root: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    root = _root(Path(root))
    parts = []
    for name in (*TRAIN_BATCHES, TEST_BATCH):
        if not (root / name).is_file():
            raise DataError(f"{root}: missing CIFAR-10 batch {name} (the python version, cifar-10-python.tar.gz)")
        parts.append(read_batch(root / name))
    x_tr = np.concatenate([p[0] for p in parts[:-1]])
    y_tr = np.concatenate([p[1] for p in parts[:-1]])
    return x_tr, y_tr, parts[-1][0], parts[-1][1]


# root -> (mean, std) of the training set a loader standardized with (the -C test sets reuse them)
STATS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def load_cifar10(root: str | Path) -> Split:
    """CIFAR-10 as a Split: (N, 3, 32, 32) float32, standardized per channel on the training set."""
    x_tr, y_tr, x_te, y_te = load_cifar10_raw(root)
    mean, std = STATS[str(Path(root).resolve())] = channel_stats(x_tr)
    return Split(normalize(x_tr, mean, std), y_tr, normalize(x_te, mean, std), y_te, n_classes=10)


def load_cifar10_c(root: str | Path, corruption: str, severity: int) -> tuple[np.ndarray, np.ndarray]:
    """One corruption at one severity (1-5): (images (10000, 3, 32, 32) uint8, labels)."""
    root = Path(root)
    path, labels = root / f"{corruption}.npy", root / "labels.npy"
    if not 1 <= severity <= 5:
        raise DataError(f"{path}: severity must be 1-5, got {severity}")
    for p in (path, labels):
        if not p.is_file():
            raise DataError(f"{p}: CIFAR-10-C file not found (set paper_data.cifar10_c)")
    x = np.load(path, mmap_mode="r", allow_pickle=False)
    y = np.load(labels, allow_pickle=False)
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or len(x) % 5 or len(y) != len(x):
        raise DataError(f"{path}: expected (5*N, 32, 32, 3) images and {labels.name} of the same length, "
                        f"got {x.shape} and {y.shape}")
    n = len(x) // 5
    sl = slice((severity - 1) * n, severity * n)
    return np.ascontiguousarray(x[sl].transpose(0, 3, 1, 2)).astype(np.uint8), y[sl].astype(np.int64)


def cifar10_c_corruptions(root: str | Path) -> list[str]:
    return sorted(p.stem for p in Path(root).glob("*.npy") if p.stem != "labels")
