"""Training the reference segmenter and the scene GANs, deterministically from their seeds.

Both train in one thread (benchmark.determinism) with data order and latents drawn from seeded
generators, so a seed names one network.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from torch import nn

from benchmark.data.scenes import CONCEPTS, Scenes, to_tensor_range
from benchmark.determinism import seed_everything
from benchmark.experiments.supervised import fit_cross_entropy
from benchmark.models.scene_gan import Discriminator, Generator, Segmenter
from benchmark.parallel import map_ordered, progress


@dataclasses.dataclass(frozen=True)
class SegmenterConfig:
    width: int
    epochs: int
    lr: float
    batch_size: int
    seed: int


@dataclasses.dataclass(frozen=True)
class GanConfig:
    nz: int
    width: int
    iterations: int
    batch_size: int
    lr: float


def train_segmenter(cfg: SegmenterConfig, train: Scenes) -> tuple[Segmenter, dict[str, float]]:
    rng = seed_everything(cfg.seed)
    model = Segmenter(len(CONCEPTS), cfg.width)
    x = torch.from_numpy(to_tensor_range(train.images))
    y = torch.from_numpy(train.masks.astype(np.int64))
    return model, fit_cross_entropy(model, x, y, epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, rng=rng)


@torch.no_grad()
def segment(model: Segmenter, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """Label map (N, H, W) of images in [-1, 1]."""
    return torch.cat([model(images[i:i + batch]).argmax(1) for i in range(0, len(images), batch)])


def train_gan(cfg: GanConfig, images: np.ndarray, seed: int) -> tuple[Generator, dict[str, float]]:
    """DCGAN (Radford et al. 2016): Adam(lr, beta1 0.5), non-saturating loss, one D and one G step
    per iteration."""
    rng = seed_everything(seed)
    g, d = Generator(cfg.nz, cfg.width), Discriminator(cfg.width)
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    og = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    od = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    x = torch.from_numpy(to_tensor_range(images))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(cfg.batch_size), torch.zeros(cfg.batch_size)
    t0 = time.perf_counter()
    ld_sum = lg_sum = 0.0
    for it in progress(range(cfg.iterations), desc="GAN iterations"):
        real = x[torch.from_numpy(rng.choice(len(x), cfg.batch_size, replace=False))]
        z = torch.from_numpy(rng.standard_normal((cfg.batch_size, cfg.nz)).astype(np.float32))
        fake = g(z)
        ld = bce(d(real), ones) + bce(d(fake.detach()), zeros)
        od.zero_grad()
        ld.backward()
        od.step()
        lg = bce(d(fake), ones)
        og.zero_grad()
        lg.backward()
        og.step()
        if it >= cfg.iterations - 100:
            ld_sum, lg_sum = ld_sum + ld.item(), lg_sum + lg.item()
    g.eval()
    last = min(100, cfg.iterations)
    return g, {"loss_d_last100": ld_sum / last, "loss_g_last100": lg_sum / last,
               "train_seconds": time.perf_counter() - t0}


def sample_latents(n: int, nz: int, seed: int) -> torch.Tensor:
    """The latents of a probe: a fixed function of (n, nz, seed), independent of training."""
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, nz)).astype(np.float32))


def _train_one(job: dict, seed: int):
    g, metrics = train_gan(job["cfg"], job["images"], seed)
    return g.state_dict(), metrics


def train_generators(cfg: GanConfig, images: np.ndarray, seeds: list[int], workers: int) -> list[tuple[dict, dict]]:
    """One generator per seed, each in its own process on one thread (benchmark.parallel), so the
    bytes of every generator depend on its seed only, not on `workers`."""
    return map_ordered(_train_one, seeds, workers, desc="train scene GANs", job={"cfg": cfg, "images": images})
