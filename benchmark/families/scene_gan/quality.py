"""How good is the generator, seen through the reference segmenter: a Frechet distance between
real and generated images in the segmenter's feature space, and agreement of concept frequencies.

Why: a claim about a GAN's units says little if the GAN draws no scenes; both measures use the
same instrument as the claims (the segmenter), and the distance between two real samples gives
the floor the generated one is read against.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import linalg


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature samples (the FID formula)."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1 @ s2, disp=False)
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@torch.no_grad()
def embed(seg, images: torch.Tensor, batch: int = 256) -> np.ndarray:
    return torch.cat([seg.embed(images[i:i + batch]) for i in range(0, len(images), batch)]).double().numpy()


def concept_frequencies(labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(pixel share of each concept, share of images containing it) of label maps (N, H, W)."""
    pix = np.bincount(labels.ravel(), minlength=k) / labels.size
    present = (labels.reshape(len(labels), -1)[:, :, None] == np.arange(k)).any(1).mean(0)
    return pix, present
