"""What the olah2017 claims measure on visualizations, none of it the objective being optimized.

* `hf_share`, `radial_spectrum`: the radially averaged power spectrum and the share of power
  above half the Nyquist frequency (O4), the same for every arm and for real scenes.
* `softmax_gain_split`: how a log-probability gain divides between raising the target logit and
  lowering the others (O1), by the two-player Shapley split of the change (exact: the parts sum
  to the gain, whatever the order).
* `concept_share`, `label_distance`: what the reference segmenter sees in an image (O1's second
  measure, O2's independent diversity score).
* `activation_cost`: what the diversity penalty costs a channel, in units of the network's mean
  activation without it (O2's cost).
* `transfer`: the probability of an image's class under other networks (O4's transfer).
"""

from __future__ import annotations

import numpy as np
import torch

NYQUIST = 0.5  # cycles per pixel


def _centred_power(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, H, W) power of the 2-D DFT summed over colour channels, each channel's
    mean removed (the DC term carries the mean colour, not its spatial structure)."""
    x = images - images.mean(dim=(2, 3), keepdim=True)
    return (torch.fft.fft2(x.double(), norm="ortho").abs() ** 2).sum(1)


def _radius(h: int, w: int) -> torch.Tensor:
    fy = torch.fft.fftfreq(h, dtype=torch.float64)[:, None]
    fx = torch.fft.fftfreq(w, dtype=torch.float64)[None, :]
    return torch.sqrt(fx ** 2 + fy ** 2)


def hf_share(images: torch.Tensor, cutoff: float = NYQUIST / 2) -> np.ndarray:
    """Per image, the share of its (non-DC) spectral power at frequencies above `cutoff` cycles
    per pixel (default half Nyquist). White noise: the share of frequency bins above the cutoff
    (about 0.80 on a 32x32 grid); a smooth image: near 0. NaN for a flat image (no power)."""
    p = _centred_power(images)
    r = _radius(*images.shape[-2:])
    total = p[:, r > 0].sum(1)
    high = p[:, r > cutoff].sum(1)
    share = high / total
    share[total <= 1e-20] = float("nan")
    return share.numpy()


def radial_spectrum(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Mean power per integer radius in cycles per image (1 .. H/2), averaged over images:
    (radii, power)."""
    h, w = images.shape[-2:]
    p = _centred_power(images).mean(0)
    r = (_radius(h, w) * h).round().long()
    radii = np.arange(1, h // 2 + 1)
    power = np.array([float(p[r == k].mean()) for k in radii])
    return radii, power


def _log_p(target: np.ndarray, others: np.ndarray) -> np.ndarray:
    """log softmax of the target given its logit (B,) and the other logits (B, K-1)."""
    z = np.concatenate([target[:, None], others], 1)
    m = z.max(1, keepdims=True)
    return target - (m[:, 0] + np.log(np.exp(z - m).sum(1)))


def softmax_gain_split(start: np.ndarray, end: np.ndarray, target: np.ndarray) -> dict[str, np.ndarray]:
    """Split the gain in log p(target) from `start` to `end` logits (B, K) into the part due to
    the target logit and the part due to the other logits (two-player Shapley values: each part
    is the mean of its effect with the other held at its start and at its end value).

    Returns total, from_target, from_others (they sum to total) per row.
    """
    rows = np.arange(len(target))
    keep = np.ones_like(start, bool)
    keep[rows, target] = False
    t0, t1 = start[rows, target], end[rows, target]
    o0, o1 = start[keep].reshape(len(rows), -1), end[keep].reshape(len(rows), -1)
    f00, f10, f01, f11 = _log_p(t0, o0), _log_p(t1, o0), _log_p(t0, o1), _log_p(t1, o1)
    from_others = 0.5 * ((f01 - f00) + (f11 - f10))
    from_target = 0.5 * ((f10 - f00) + (f11 - f01))
    return {"total": f11 - f00, "from_target": from_target, "from_others": from_others}


def concept_share(labels: torch.Tensor, concepts: list[int]) -> np.ndarray:
    """Per label map (B, H, W), the share of pixels labelled with any of `concepts`."""
    return torch.isin(labels, torch.tensor(concepts)).double().mean(dim=(1, 2)).numpy()


def label_distance(labels: torch.Tensor) -> float:
    """Mean over pairs of label maps (N, H, W) of the share of pixels whose labels differ."""
    n = len(labels)
    if n < 2:
        return float("nan")
    flat = labels.flatten(1)
    d = [(flat[i] != flat[j]).double().mean().item() for i in range(n) for j in range(i + 1, n)]
    return float(np.mean(d))


def activation_cost(plain, other, scale):
    """Per unit, (activation without the penalty - with it) / `scale` (the network's mean activation
    without it), so that a network's mean is 1 - (total with / total without): a ratio of totals,
    linearized. Works on arrays and pandas series alike."""
    return (plain - other) / scale


@torch.no_grad()
def transfer(images: torch.Tensor, targets: np.ndarray, others: list) -> np.ndarray:
    """Mean probability of each image's target class under the other networks."""
    if not others:
        return np.full(len(targets), np.nan)
    p = torch.stack([torch.softmax(m(images).double(), 1)[torch.arange(len(targets)), torch.from_numpy(targets)]
                     for m in others])
    return p.mean(0).numpy()
