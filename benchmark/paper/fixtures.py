"""Write a folder of tiny fixture files in the papers' real dataset formats, for tests and for a
smoke run of the paper scale without the real data:

    python -m benchmark.paper.fixtures data-paper-fixture
    dvc exp run -S scale=paper -S 'paper_data.root=data-paper-fixture'   (see README 'Paper scale')

Contents are random pixels: every verdict computed from them is meaningless (fixture data).
Same arguments, same bytes (PNG, no timestamps; JPEG from a fixed encoder).
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

FIXTURE_NOTE = "FIXTURE DATA: random pixels written by benchmark.paper.fixtures; any verdict on it is meaningless."


def _img(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.transpose(1, 2, 0)).save(path, quality=95) if path.suffix.lower() in (".jpg", ".jpeg") \
        else Image.fromarray(arr.transpose(1, 2, 0)).save(path)


def write_idx(path: Path, arr: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def mnist(root: Path, rng, n_train: int = 60, n_test: int = 20) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for stem, n in (("train", n_train), ("t10k", n_test)):
        write_idx(root / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(root / f"{stem}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def cifar10(root: Path, rng, per_batch: int = 10, n_test: int = 20) -> None:
    root.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per_batch
        d = {b"batch_label": name.encode(), b"labels": [int(v) for v in np.arange(n) % 10],
             b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img_{i}.png".encode() for i in range(n)]}
        (root / name).write_bytes(pickle.dumps(d, protocol=2))
    meta = {b"label_names": [c.encode() for c in ("airplane", "automobile", "bird", "cat", "deer", "dog",
                                                    "frog", "horse", "ship", "truck")]}
    (root / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))


def cifar10_c(root: Path, rng, n: int = 10, corruptions=("gaussian_noise", "fog")) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for c in corruptions:
        np.save(root / f"{c}.npy", rng.integers(0, 256, (5 * n, 32, 32, 3), dtype=np.uint8), allow_pickle=False)
    np.save(root / "labels.npy", np.tile(np.arange(n) % 10, 5).astype(np.uint8), allow_pickle=False)


C15 = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
       "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression")
WNIDS = ("n01443537", "n01629819", "n01641577", "n01644900")


def tiny_imagenet(root: Path, rng, per_class: int = 4, val_per_class: int = 2) -> None:
    (root / "val" / "images").mkdir(parents=True, exist_ok=True)
    (root / "wnids.txt").write_text("".join(w + "\n" for w in WNIDS))
    lines = []
    for i, w in enumerate(WNIDS):
        for j in range(per_class):
            _img(root / "train" / w / "images" / f"{w}_{j}.JPEG", rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))
        (root / "train" / w / f"{w}_boxes.txt").write_text("".join(f"{w}_{j}.JPEG\t0\t0\t63\t63\n" for j in range(per_class)))
        for j in range(val_per_class):
            name = f"val_{i * val_per_class + j}.JPEG"
            _img(root / "val" / "images" / name, rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))
            lines.append(f"{name}\t{w}\t0\t0\t63\t63\n")
    (root / "val" / "val_annotations.txt").write_text("".join(lines))


def tiny_imagenet_c(root: Path, rng, per_class: int = 2, corruptions=("gaussian_noise", "fog")) -> None:
    """Each val image of `tiny_imagenet(..., val_per_class=per_class)`, by name, in its class folder."""
    for c in corruptions:
        for s in range(1, 6):
            for i, w in enumerate(WNIDS):
                for j in range(per_class):
                    _img(root / c / str(s) / w / f"val_{i * per_class + j}.JPEG",
                         rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))


def places365(root: Path, rng, per_class: int = 2, classes=("/a/abbey", "/b/barn", "/c/church/outdoor")) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "categories_places365.txt").write_text("".join(f"{c} {i}\n" for i, c in enumerate(classes)))
    train, val = [], []
    for i, c in enumerate(classes):
        for j in range(per_class):
            rel = f"{c}/{j:08d}.jpg"
            _img(root / "data_256" / rel.lstrip("/"), rng.integers(0, 256, (3, 256, 256), dtype=np.uint8))
            train.append(f"{rel} {i}\n")
            name = f"Places365_val_{i * per_class + j + 1:08d}.jpg"
            _img(root / "val_256" / name, rng.integers(0, 256, (3, 256, 256), dtype=np.uint8))
            val.append(f"{name} {i}\n")
    (root / "places365_train_standard.txt").write_text("".join(train))
    (root / "places365_val.txt").write_text("".join(val))


def lsun_church(root: Path, rng, n: int = 24) -> None:
    for i in range(n):
        _img(root / f"{i:07d}.png", rng.integers(0, 256, (3, 256, 256), dtype=np.uint8))


BRODEN_LABELS = ("-", "sky", "tree", "building", "window", "door", "wood", "red-c")


def broden(root: Path, rng, n: int = 4, size: int = 224, seg: int = 112) -> None:
    """`paper_data.broden`: label.csv, index.csv and images/ in Broden's layout; object and part
    segmentations as PNGs (label number = R + 256 G), a whole-image material label."""
    (root / "images" / "fixture").mkdir(parents=True, exist_ok=True)
    (root / "label.csv").write_text("number,name,category,frequency,coverage,syns\n" + "".join(
        f"{i},{name},{'object' if i < 6 else 'material'}(1),{n},0.1,\n" for i, name in enumerate(BRODEN_LABELS)))
    rows = []
    for i in range(n):
        img = f"fixture/{i:05d}.jpg"
        _img(root / "images" / img, rng.integers(0, 256, (3, size, size), dtype=np.uint8))
        segs = []
        for cat, choices in (("object", (1, 2, 3)), ("part", (4, 5))):
            lab = rng.choice((0, *choices), size=(seg, seg)).astype(np.uint16)
            lab[0, 0] = 256 + 1 if cat == "object" and i == 0 else lab[0, 0]  # one label > 255 (uses G)
            arr = np.stack([lab % 256, lab // 256, np.zeros_like(lab)]).astype(np.uint8)
            name = f"fixture/{i:05d}_{cat}.png"
            _img(root / "images" / name, arr)
            segs.append(name)
        rows.append(f"{img},train,{size},{size},{seg},{seg},,{segs[0]},{segs[1]},6,,\n")
    (root / "index.csv").write_text("image,split,ih,iw,sh,sw,color,object,part,material,scene,texture\n" + "".join(rows))


SEGMENTER_CONCEPTS = ("sky", "ground", "grass", "building", "window", "door", "roof", "tree", "other")


def segmenter(root: Path, seed: int = 0) -> None:
    """`paper_data.segmenter`: a TorchScript 1x1 conv labelling each pixel with the concept whose
    (random) colour centre is nearest + concepts.json with made-up validation IoUs, in the interface of
    benchmark/models/paper_segmenter.py."""
    import torch

    root.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(seed)
    conv = torch.nn.Conv2d(3, len(SEGMENTER_CONCEPTS), 1)
    centres = torch.rand(len(SEGMENTER_CONCEPTS), 3, generator=g) * 2 - 1  # nearest colour centre wins:
    with torch.no_grad():                                                  # -|x - c|^2 = 2 c.x - |c|^2 + const
        conv.weight.copy_(2 * centres[:, :, None, None])
        conv.bias.copy_(-(centres ** 2).sum(1))
    torch.jit.save(torch.jit.script(conv.eval()), str(root / "segmenter.pt"))
    (root / "concepts.json").write_text(json.dumps(
        {"concepts": list(SEGMENTER_CONCEPTS), "validation_iou": {"tree": 0.5, "door": 0.3, "window": 0.4}}, indent=1) + "\n")


def gan_weights(path: Path, seed: int, resolution: int = 32, nz: int = 16, width: int = 32) -> None:
    """`paper_data.gan_weights`: a small Progressive GAN (same layer layout as the published ones,
    `width` channels instead of 512) in safetensors; benchmark/models/paper_gan.py reads its
    architecture off the file."""
    import torch
    from safetensors.torch import save_file

    from benchmark.models.paper_gan import ProgressiveGenerator, _channels

    torch.manual_seed(seed)
    g = ProgressiveGenerator(resolution, nz, [width] * len(_channels(resolution)))
    with torch.no_grad():  # equalized learning rate: N(0, 1) weights, scaled at run time (Karras et al.)
        for name, prm in g.named_parameters():
            if name.endswith("conv.weight"):
                prm.normal_()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in g.state_dict().items()}, str(path))
SST_POSITIVE = ("good", "great", "charming", "moving", "funny", "clever")
SST_NEGATIVE = ("bad", "dull", "awful", "boring", "flat", "tedious")
SST_NEUTRAL = ("the", "a", "film", "movie", "is", "it", "plot", "and", "of", "story", "this", "was", "'s", "cast")


def sst(sst2_root: Path, sst_root: Path, rng, n_train: int = 48, n_dev: int = 16) -> None:
    """GLUE SST-2 (train.tsv, dev.tsv: lowercased, `sentence<TAB>label`) and the SST release's
    dictionary.txt (`phrase|id`: every word and every sentence) and sentiment_labels.txt (header,
    then `id|value`); words' values: positive > 0.6, negative <= 0.4, neutral in between."""
    sst2_root.mkdir(parents=True, exist_ok=True)
    sst_root.mkdir(parents=True, exist_ok=True)
    value = {w: 0.45 + 0.1 * rng.random() for w in SST_NEUTRAL}
    value.update({w: 0.7 + 0.25 * rng.random() for w in SST_POSITIVE})
    value.update({w: 0.05 + 0.25 * rng.random() for w in SST_NEGATIVE})
    phrases = dict(value)
    for name, n in (("train", n_train), ("dev", n_dev)):
        lines = ["sentence\tlabel\n"]
        for _ in range(n):
            words = list(rng.choice(SST_NEUTRAL, int(rng.integers(3, 8))))
            label = int(rng.integers(0, 2))
            pool = SST_POSITIVE if label else SST_NEGATIVE
            for _ in range(int(rng.integers(1, 3))):
                words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(pool)))
            sentence = " ".join(words)
            phrases[sentence] = (0.75 if label else 0.25) + 0.1 * (rng.random() - 0.5)
            lines.append(f"{sentence} \t{label}\n")  # GLUE's lines end their sentence with a space
        (sst2_root / f"{name}.tsv").write_text("".join(lines), encoding="utf-8")
    items = list(phrases.items())
    (sst_root / "dictionary.txt").write_text("".join(f"{p}|{i}\n" for i, (p, _) in enumerate(items)), encoding="utf-8")
    (sst_root / "sentiment_labels.txt").write_text(
        "phrase ids|sentiment values\n" + "".join(f"{i}|{v:.5f}\n" for i, (_, v) in enumerate(items)), encoding="utf-8")


def tiny_bert(root: Path, seed: int = 0) -> bool:
    """A randomly initialized 4-layer BERT (width 16) with a word-piece vocabulary of the SST
    fixture's words, saved as a HuggingFace directory (no head: fine-tuning adds it). Written
    offline; False (nothing written) without the optional extra `transformers`."""
    try:
        import torch
        import transformers
    except ImportError:
        return False
    root.mkdir(parents=True, exist_ok=True)
    pieces = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "'", "s", "##s", "##ing"]
    pieces += sorted(set(SST_POSITIVE + SST_NEGATIVE + SST_NEUTRAL) - {"'s", "charming", "boring"})
    pieces += ["charm", "bor"]  # two words that split into pieces (charm ##ing, bor ##ing)
    (root / "vocab.txt").write_text("\n".join(pieces) + "\n", encoding="utf-8")
    vocab = {w: i for i, w in enumerate(pieces)}
    transformers.BertTokenizerFast(vocab=vocab, do_lower_case=True).save_pretrained(str(root))
    cfg = transformers.BertConfig(vocab_size=len(pieces), hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=64)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        transformers.BertModel(cfg).save_pretrained(str(root))
    return True


def fixture_note(params: dict) -> str | None:
    """The fixture note when the paper scale reads a folder this module wrote, else None."""
    if params.get("scale") != "paper":
        return None
    from benchmark.paths import project_root

    root = Path((params.get("paper_data") or {}).get("root") or ".")
    root = root if root.is_absolute() else project_root() / root
    return FIXTURE_NOTE if (root / "FIXTURE.json").is_file() else None


def write_all(root: str | Path, seed: int = 0) -> Path:
    root = Path(root)
    rng = np.random.default_rng(seed)
    mnist(root / "mnist", rng)
    cifar10(root / "cifar-10-batches-py", rng)
    cifar10_c(root / "CIFAR-10-C", rng, n=20, corruptions=C15)
    tiny_imagenet(root / "tiny-imagenet-200", rng)
    tiny_imagenet_c(root / "Tiny-ImageNet-C", rng, corruptions=C15)
    places365(root / "places365_standard", rng)
    lsun_church(root / "lsun_church_outdoor", rng)
    segmenter(root / "segmenter", seed)
    broden(root / "broden1_224", np.random.default_rng(seed + 1))
    gan_weights(root / "proggan_churchoutdoor.safetensors", seed)          # one generator: 1 replicate
    for i in range(2):                                                     # a folder: 2 replicates
        gan_weights(root / "proggan_church_replicates" / f"generator_{i}.safetensors", seed + i)
    sst(root / "SST-2", root / "stanfordSentimentTreebank", rng)
    tiny_bert(root / "bert-tiny", seed)
    (root / "FIXTURE.json").write_text(json.dumps({"note": FIXTURE_NOTE, "seed": seed}, indent=1) + "\n")
    return root


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    print(f"{write_all(args.dir, args.seed)}: {FIXTURE_NOTE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
