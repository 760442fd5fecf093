"""Reader for the IDX format of the original MNIST files (paper scale), gzipped or not."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from benchmark.errors import DataError
from benchmark.data.splits import Split

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte",
}


def read_idx(path: str | Path) -> np.ndarray:
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read IDX file: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, ndim = raw[2], raw[3]
    if dtype_code not in _DTYPES:
        raise DataError(f"{path}: unknown IDX element type 0x{dtype_code:02x}")
    header = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[dtype_code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: IDX payload has {len(raw) - header} bytes, header says {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def _find(root: Path, stem: str) -> Path:
    for cand in (root / stem, root / f"{stem}.gz"):
        if cand.is_file():
            return cand
    raise DataError(f"{root}: missing MNIST file {stem}[.gz] (paper scale reads the original files you supply)")


def load_mnist(root: str | Path) -> Split:
    """MNIST from the four original IDX files; pixels scaled to [0, 1] and flattened."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: MNIST directory not found (set paths in params.yaml, see README 'Paper scale')")
    arrays = {k: read_idx(_find(root, v)) for k, v in MNIST_FILES.items()}
    x_tr = arrays["x_train"].reshape(len(arrays["x_train"]), -1).astype(np.float32) / 255.0
    x_te = arrays["x_test"].reshape(len(arrays["x_test"]), -1).astype(np.float32) / 255.0
    mean, std = x_tr.mean(), x_tr.std()
    return Split((x_tr - mean) / std, arrays["y_train"].astype(np.int64), (x_te - mean) / std,
                 arrays["y_test"].astype(np.int64), n_classes=10)
