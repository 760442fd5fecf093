"""Average-case corruptions at graded severities: noise-type corruptions of 1-D signals (own,
numpy) and image corruptions from torchvision's v2 transforms (the maintained library).

Every corruption is a pure function of (inputs, kind, severity, seed): the same seed gives the
same corrupted set, and within one kind a higher severity distorts more (the same random draws,
scaled), as in ImageNet-C's severity levels. Parameters per severity live in the tables below.
"""

from __future__ import annotations

import numpy as np
import torch

# severity 1..3 -> parameter, for signals of unit scale (mnist1d is standardized: SD ~1)
SIGNAL: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.25, 0.5, 1.0),   # noise SD
    "blur": (1.0, 2.0, 3.0),              # Gaussian kernel SD, in samples
    "dropout": (0.1, 0.25, 0.5),          # fraction of samples zeroed
    "drift": (0.5, 1.0, 2.0),             # amplitude of an added slow sinusoid
}
# severity 1..3 -> parameter, for images in [0, 1]
IMAGE: dict[str, tuple[float, ...]] = {
    "gaussian_noise": (0.1, 0.2, 0.4),    # v2.GaussianNoise sigma (clipped to [0, 1])
    "gaussian_blur": (0.6, 0.9, 1.4),     # v2.GaussianBlur sigma, 5x5 kernel
    "jpeg": (30, 10, 2),                  # v2.JPEG quality
    "elastic": (2.0, 4.0, 8.0),           # v2.ElasticTransform alpha (smoothing sigma 0.9 px: 8x8 images)
    "contrast": (0.6, 0.4, 0.2),          # v2.ColorJitter contrast factor
}


def kinds_for(x: np.ndarray) -> dict[str, tuple[float, ...]]:
    """Corruption table for this data: (N, L) signals or (N, H, W) images."""
    return IMAGE if x.ndim == 3 else SIGNAL


def _param(table: dict[str, tuple[float, ...]], kind: str, severity: int) -> float:
    if kind not in table:
        raise ValueError(f"unknown corruption {kind!r} for this data; known: {sorted(table)}")
    levels = table[kind]
    if not 1 <= severity <= len(levels):
        raise ValueError(f"severity {severity} outside 1..{len(levels)}")
    return levels[severity - 1]


def _gauss_kernel(sd: float) -> np.ndarray:
    half = int(np.ceil(3 * sd))
    t = np.arange(-half, half + 1, dtype=float)
    k = np.exp(-0.5 * (t / sd) ** 2)
    return k / k.sum()


def corrupt_signal(x: np.ndarray, kind: str, severity: int, seed: int) -> np.ndarray:
    """(N, L) float signals -> corrupted copy, same shape and dtype."""
    p = _param(SIGNAL, kind, severity)
    rng = np.random.default_rng([seed, 1])  # the draws do not depend on the severity
    n, length = x.shape
    if kind == "gaussian_noise":
        out = x + p * rng.standard_normal(x.shape)
    elif kind == "blur":
        k = _gauss_kernel(p)
        pad = len(k) // 2
        padded = np.pad(x, ((0, 0), (pad, pad)), mode="reflect")
        out = np.stack([np.convolve(row, k, mode="valid") for row in padded])
    elif kind == "dropout":
        out = np.where(rng.random(x.shape) < p, 0.0, x)  # nested masks across severities
    else:  # drift
        t = np.arange(length) / length
        freq = rng.uniform(0.5, 2.0, size=(n, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
        out = x + p * np.sin(2 * np.pi * freq * t + phase)
    return out.astype(x.dtype)


def _image_transform(kind: str, p: float):
    from torchvision.transforms import v2

    if kind == "gaussian_noise":
        return v2.GaussianNoise(mean=0.0, sigma=float(p), clip=True)
    if kind == "gaussian_blur":
        return v2.GaussianBlur(kernel_size=5, sigma=(float(p), float(p)))
    if kind == "jpeg":
        return v2.JPEG(quality=(int(p), int(p)))
    if kind == "elastic":
        return v2.ElasticTransform(alpha=float(p), sigma=0.9)
    return v2.ColorJitter(contrast=(float(p), float(p)))


def corrupt_image(x: np.ndarray, kind: str, severity: int, seed: int) -> np.ndarray:
    """(N, H, W) float images in [0, 1] -> corrupted copy in [0, 1], same shape and dtype.

    torchvision draws its randomness from torch's global generator: it is seeded here inside a
    forked RNG state (the caller's stream is untouched). Elastic warps get one field per image
    (a batched call would share one); the other transforms act per pixel or deterministically.
    """
    p = _param(IMAGE, kind, severity)
    tf = _image_transform(kind, p)
    imgs = torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)  # (N, 1, H, W)
    if kind == "jpeg":
        imgs = (imgs * 255).round().to(torch.uint8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = torch.stack([tf(img) for img in imgs]) if kind == "elastic" else tf(imgs)
    if kind == "jpeg":
        out = out.float() / 255
    return out.squeeze(1).clamp(0, 1).numpy().astype(x.dtype)


def corrupt(x: np.ndarray, kind: str, severity: int, seed: int) -> np.ndarray:
    return corrupt_image(x, kind, severity, seed) if x.ndim == 3 else corrupt_signal(x, kind, severity, seed)
