"""Paper-scale scene classifiers: VGG16 on Places365 (bau2017/bau2020), trained by seed, or user
checkpoints, plus untrained random-init controls; saved in the same safetensors file and metadata
layout as the embedded ones (kind trained/random, seed), with `arch` and `image_size` recorded.

    train_vgg(cfg, train, n_classes, seed, device, amp) -> (state_dict on CPU, metrics)
    load_paper_classifiers(path, kind)                 -> [(seed, UnitNet in eval mode)]

Training streams Places365: each mini-batch is decoded from its files when it is needed (the
ImageList of benchmark.data.image_folders), so memory does not grow with the 1.8 M images; decoding
runs in this one process (a real run wants a DataLoader with workers in front of a GPU; the bytes
would not change, the order of files is fixed by the seed). SGD + momentum, the step schedule and
crop/flip augmentation of benchmark.experiments.paper_train. Images enter in [-1, 1] (the embedded
classifiers' range, so the probes treat both alike).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from benchmark.determinism import seed_everything
from benchmark.devices import max_epochs, set_deterministic, training_autocast
from benchmark.experiments.paper_train import augment, lr_at
from benchmark.experiments.scene_classifier import RANDOM_SEED_SHIFT
from benchmark.experiments.store import load_models
from benchmark.models.paper_zoo import UnitNet, build_paper

EVAL_BATCH = 50


def to_input(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float32 in [-1, 1]."""
    return x_uint8.float() / 127.5 - 1.0


def load_batch(images, idx) -> torch.Tensor:
    """Images `idx` of an ImageList, decoded now, as a float batch in [-1, 1]."""
    return to_input(torch.stack([images[int(i)][0] for i in idx]))


def build_vgg(cfg, n_classes: int) -> UnitNet:
    return build_paper(cfg.arch, (3, cfg.image_size, cfg.image_size), n_classes)


def train_vgg(cfg, train, n: int, n_classes: int, seed: int, device: torch.device, amp: bool = False) -> tuple[dict, dict]:
    """One network from `seed` (initialization, file order, augmentation) on the first n training images."""
    seed_everything(seed)
    set_deterministic(device)
    torch.manual_seed(seed)
    model = build_vgg(cfg, n_classes).to(device)
    labels = torch.tensor([train.files[i][1] for i in range(n)], dtype=torch.int64)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    loss = float("nan")
    for epoch in range(max_epochs(cfg.epochs)):  # the schedule stays the paper's when capped
        for g in opt.param_groups:
            g["lr"] = lr_at(epoch, cfg.epochs, cfg.lr)
        model.train()
        order = torch.randperm(n, generator=gen)
        for start in range(0, n, cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            if len(idx) < 2:
                continue
            xb = augment(load_batch(train, idx), gen).to(device)
            yb = labels[idx].to(device)
            opt.zero_grad(set_to_none=True)
            with training_autocast(device, amp):
                out = F.cross_entropy(model(xb).float(), yb)
            out.backward()
            opt.step()
            loss = float(out.detach())
    state = {k: v.detach().to("cpu").clone().contiguous() for k, v in model.state_dict().items()}
    return state, {"final_loss": loss}


def random_vgg(cfg, n_classes: int, seed: int) -> UnitNet:
    """The untrained control: torchvision's initialization from seed + RANDOM_SEED_SHIFT."""
    torch.manual_seed(seed + RANDOM_SEED_SHIFT)
    return build_vgg(cfg, n_classes).eval()


@torch.no_grad()
def accuracy(model: UnitNet, images, n: int, device: torch.device) -> float:
    model.eval()
    correct = 0
    for s in range(0, n, EVAL_BATCH):
        idx = range(s, min(n, s + EVAL_BATCH))
        y = torch.tensor([images.files[i][1] for i in idx])
        correct += int((model(load_batch(images, idx).to(device)).argmax(1).cpu() == y).sum())
    return correct / max(1, n)


def build_saved(meta: dict) -> UnitNet:
    s = int(meta["image_size"])
    return build_paper(meta["arch"], (3, s, s), int(meta["n_classes"]))


def rebuild(meta: dict, state: dict) -> UnitNet:
    """A saved network from its metadata and weights, without running the initializers (built on
    the meta device, then given the saved tensors: VGG16's 138 M random draws cost ~1 s a network)."""
    with torch.device("meta"):
        model = build_saved(meta)
    model.load_state_dict(state, strict=True, assign=True)
    return model


def load_paper_classifiers(path, kind: str) -> list[tuple[int, UnitNet]]:
    """(seed, model in eval mode) of one kind ('trained' or 'random'), seed order."""
    nets, meta = load_models(path)
    out = []
    for name, m in meta.items():
        if m["kind"] != kind:
            continue
        if "arch" not in m:
            raise ValueError(f"{path}: network {name} has no `arch`: an embedded classifier file, not a paper-scale one "
                             "(re-run train_scene_classifier at scale paper)")
        out.append((int(m["seed"]), rebuild(m, nets[name]).eval()))
    return sorted(out, key=lambda t: t[0])


def limited(n_total: int, cap: int | None) -> int:
    return n_total if cap is None else min(n_total, cap)


def labels_of(images, n: int) -> np.ndarray:
    return np.array([images.files[i][1] for i in range(n)], np.int64)


def torchvision_vgg_rename(model: UnitNet) -> dict[str, str]:
    """Key prefixes of a torchvision-layout VGG16 state dict (`features.<i>.`, `classifier.<j>.`)
    mapped to this UnitNet's (`blocks.<b>.0.`, `head.2.<j>.`): user checkpoints in either layout load."""
    out, i = {}, 0
    for b, block in enumerate(model.blocks):
        for k, _ in enumerate(block):
            if k == 0:
                out[f"features.{i}."] = f"blocks.{b}.0."
            i += 1
    out["classifier."] = "head.2."
    return out
