"""Paper-scale loaders on tiny fixture files written in each dataset's real format: the pixels
and labels that go in come back out, and a broken file is an error naming it."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from benchmark.data import cifar, image_folders
from benchmark.errors import DataError
from benchmark.paper import fixtures


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_cifar10_pickle_batches_round_trip(tmp_path, rng):
    fixtures.cifar10(tmp_path / "cifar-10-batches-py", rng, per_batch=6, n_test=4)
    x_tr, y_tr, x_te, y_te = cifar.load_cifar10_raw(tmp_path)  # the parent folder works too
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_2", "rb") as fh:
        raw = pickle.load(fh, encoding="bytes")
    # row layout of the format: 1024 red, then green, then blue, row-major
    assert np.array_equal(x_tr[6:12], raw[b"data"].reshape(-1, 3, 32, 32))
    assert x_tr.shape == (30, 3, 32, 32) and x_te.shape == (4, 3, 32, 32)
    assert list(y_tr[6:12]) == raw[b"labels"]
    split = cifar.load_cifar10(tmp_path)
    assert split.x_train.dtype == np.float32 and split.n_classes == 10
    assert np.allclose(split.x_train.mean(axis=(0, 2, 3)), 0, atol=1e-5)


def test_cifar10_refuses_code_in_a_pickle(tmp_path, rng):
    fixtures.cifar10(tmp_path, rng, per_batch=2, n_test=2)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (tmp_path / "data_batch_3").write_bytes(pickle.dumps({b"data": Evil(), b"labels": []}))
    with pytest.raises(DataError, match="data_batch_3.*refusing to load builtins.print"):
        cifar.load_cifar10(tmp_path)


def test_cifar10_missing_batch_is_named(tmp_path, rng):
    fixtures.cifar10(tmp_path, rng, per_batch=2, n_test=2)
    (tmp_path / "data_batch_5").unlink()
    with pytest.raises(DataError, match="data_batch_5"):
        cifar.load_cifar10(tmp_path)


def test_cifar10_c_severity_slices(tmp_path, rng):
    fixtures.cifar10_c(tmp_path, rng, n=4)
    raw = np.load(tmp_path / "fog.npy")
    x, y = cifar.load_cifar10_c(tmp_path, "fog", 3)
    assert np.array_equal(x, raw[8:12].transpose(0, 3, 1, 2)) and list(y) == [0, 1, 2, 3]
    assert cifar.cifar10_c_corruptions(tmp_path) == ["fog", "gaussian_noise"]
    with pytest.raises(DataError, match="severity"):
        cifar.load_cifar10_c(tmp_path, "fog", 6)


def test_tiny_imagenet_layout_and_val_annotations(tmp_path, rng):
    fixtures.tiny_imagenet(tmp_path, rng, per_class=2, val_per_class=2)
    wnids, train, val = image_folders.tiny_imagenet_files(tmp_path)
    assert wnids == list(fixtures.WNIDS) and len(train) == 8 and len(val) == 8
    # labels of val images come from val_annotations.txt, not from the file order
    ann = (tmp_path / "val" / "val_annotations.txt").read_text().splitlines()
    name, wnid = ann[5].split("\t")[:2]
    assert dict((p.name, y) for p, y in val)[name] == wnids.index(wnid)
    split = image_folders.load_tiny_imagenet(tmp_path)
    assert split.x_train.shape == (8, 3, 64, 64) and split.n_classes == 4
    (tmp_path / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn00000000\t0\t0\t1\t1\n")
    with pytest.raises(DataError, match="val_annotations.txt: line 1"):
        image_folders.tiny_imagenet_files(tmp_path)


def test_tiny_imagenet_c(tmp_path, rng):
    fixtures.tiny_imagenet_c(tmp_path, rng, per_class=1, corruptions=("fog",))
    x, y = image_folders.load_tiny_imagenet_c(tmp_path, list(fixtures.WNIDS), "fog", 2)
    assert x.shape == (4, 3, 64, 64) and sorted(y) == [0, 1, 2, 3]
    with pytest.raises(DataError, match="severity 9"):
        image_folders.load_tiny_imagenet_c(tmp_path, list(fixtures.WNIDS), "fog", 9)


def test_places365_file_lists(tmp_path, rng):
    fixtures.places365(tmp_path, rng, per_class=1)
    ds = image_folders.places365(tmp_path, "train", size=224)
    assert ds.classes == ["/a/abbey", "/b/barn", "/c/church/outdoor"] and len(ds) == 3
    x, y = ds[2]
    assert x.shape == (3, 224, 224) and x.dtype.is_floating_point is False and y == 2
    val = image_folders.places365(tmp_path, "val", size=256)
    png = np.asarray(Image.open(tmp_path / "val_256" / "Places365_val_00000002.jpg").convert("RGB"))
    assert np.array_equal(val[1][0].numpy().transpose(1, 2, 0), png)
    (tmp_path / "places365_val.txt").write_text("Places365_val_00000001.jpg 7\n")
    with pytest.raises(DataError, match="places365_val.txt: line 1"):
        image_folders.places365(tmp_path, "val")


def test_lsun_exported_folder(tmp_path, rng):
    fixtures.lsun_church(tmp_path / "church", rng, n=3)
    ds = image_folders.lsun_folder(tmp_path / "church", size=64)
    assert len(ds) == 3 and ds[0][0].shape == (3, 64, 64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        image_folders.lsun_folder(tmp_path / "empty")


def test_fixture_folder_is_deterministic(tmp_path):
    a, b = fixtures.write_all(tmp_path / "a"), fixtures.write_all(tmp_path / "b")
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert len(files) > 50
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_paper_corruptions_pair_with_the_clean_test_set(tmp_path):
    """-C images come back standardized like the clean test set and in its order (per-image
    changes in leavitt2020's dimensionality probe need the pairing)."""
    from benchmark import devices
    from benchmark.data.registry import load_dataset
    from benchmark.families.leavitt import paper_corruptions

    fixtures.write_all(tmp_path)
    params = {"scale": "paper", "_path": str(tmp_path / "params.yaml"),
              "paper_data": {"root": str(tmp_path), "cifar10": "cifar-10-batches-py", "cifar10_c": "CIFAR-10-C",
                             "tiny_imagenet": "tiny-imagenet-200", "tiny_imagenet_c": "Tiny-ImageNet-C"}}
    before = devices.snapshot()
    devices.configure(params)
    paper_corruptions.corrupted.cache_clear()
    try:
        clean = load_dataset("cifar10", params)
        x, y = paper_corruptions.corrupted("cifar10", "fog", 2)
        raw = np.load(tmp_path / "CIFAR-10-C" / "fog.npy")[20:40].transpose(0, 3, 1, 2)
        mean, std = cifar.channel_stats(cifar.load_cifar10_raw(tmp_path / "cifar-10-batches-py")[0])
        assert np.allclose(x, cifar.normalize(raw, mean, std)) and np.array_equal(y, clean.y_test)
        tin = load_dataset("tiny_imagenet", params)
        xt, yt = paper_corruptions.corrupted("tiny_imagenet", "fog", 1)
        assert xt.shape == tin.x_test.shape and np.array_equal(yt, tin.y_test)
    finally:
        devices.restore(before)
        paper_corruptions.corrupted.cache_clear()
