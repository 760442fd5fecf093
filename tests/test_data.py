"""Datasets: deterministic generation, the paper-scale IDX loader on real-format fixtures, and
the hash check against data.dvc."""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from benchmark.data import idx
from benchmark.data.mnist1d_gen import generate
from benchmark.data.store import load_split, save_split
from benchmark.errors import DataError
from tests.conftest import REPO


def test_mnist1d_is_deterministic_and_leaves_global_rng_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a, b = generate(num_samples=500), generate(num_samples=500)
    assert np.array_equal(np.random.get_state()[1], before)
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.y_test, b.y_test)
    assert a.x_train.shape == (400, 40) and a.x_train.dtype == np.float32
    c = generate(num_samples=500, seed=7)
    assert not np.array_equal(a.x_train, c.x_train)


def test_saved_split_bytes_are_reproducible(tmp_path):
    split = generate(num_samples=300)
    save_split(split, tmp_path / "a")
    save_split(generate(num_samples=300), tmp_path / "b")
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    back = load_split(tmp_path / "a")
    assert np.array_equal(back.x_test, split.x_test) and back.n_classes == 10


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="materialize"):
        load_split(tmp_path / "nope")


# --- IDX (original MNIST format) -------------------------------------------------------------

def write_idx(path, array: np.ndarray, compress=False):
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    d = tmp_path / "mnist"
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte", rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), compress=True)
    write_idx(d / "train-labels-idx1-ubyte", np.array([0, 1, 2, 3, 4, 5], dtype=np.uint8), compress=True)
    write_idx(d / "t10k-images-idx3-ubyte", rng.integers(0, 256, (3, 28, 28), dtype=np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte", np.array([7, 8, 9], dtype=np.uint8))
    return d


def test_load_mnist_from_idx_files(mnist_dir):
    split = idx.load_mnist(mnist_dir)
    assert split.x_train.shape == (6, 784) and split.x_test.shape == (3, 784)
    assert list(split.y_test) == [7, 8, 9]
    assert abs(float(split.x_train.mean())) < 1e-5  # normalized with training statistics


def test_idx_truncated_file(mnist_dir):
    p = mnist_dir / "t10k-labels-idx1-ubyte"
    p.write_bytes(p.read_bytes()[:-1])
    with pytest.raises(DataError, match="payload"):
        idx.load_mnist(mnist_dir)


def test_idx_bad_magic(mnist_dir):
    (mnist_dir / "t10k-labels-idx1-ubyte").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(DataError, match="magic"):
        idx.read_idx(mnist_dir / "t10k-labels-idx1-ubyte")


def test_idx_missing_file(mnist_dir):
    (mnist_dir / "t10k-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        idx.load_mnist(mnist_dir)


# --- data.dvc ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_materialize_matches_data_dvc_and_detects_corruption(tmp_path, monkeypatch):
    """In a scratch DVC repo holding the project's data.dvc: data/ matches the pinned hash; a
    corrupted file makes materialize --verify-only fail naming data.dvc; regenerating repairs it."""
    root = tmp_path / "proj"
    root.mkdir()
    for name in ("params.yaml", "data.dvc", "dvc.yaml"):
        shutil.copy(REPO / name, root / name)
    env = {"INTERP_CLAIMS_ROOT": str(root), "PYTHONPATH": str(REPO), "PATH": f"{REPO / '.venv' / 'bin'}:/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=root, check=True, env=env)
    run = lambda *a: subprocess.run([sys.executable, "-m", "benchmark.data.materialize", *a], cwd=root, env=env,
                                    capture_output=True, text=True)
    if (REPO / "data").is_dir():  # `.ci/test` has just generated and verified it: start from a copy
        shutil.copytree(REPO / "data", root / "data")
        ok = run("--verify-only")
    else:
        ok = run()
    assert ok.returncode == 0, ok.stderr
    target = next((root / "data").rglob("y_test.npy"))
    target.write_bytes(target.read_bytes()[:-4] + b"\x01\x00\x00\x00")
    bad = run("--verify-only")
    assert bad.returncode == 2 and "data.dvc" in bad.stderr
    assert run().returncode == 0  # regenerating repairs it
