"""Feature visualization by optimization (olah2017): parameterizations, transforms, objectives,
and one batched Adam loop.

Why hand-written: torch-lucent 0.1.8 (the PyTorch port of Lucid) runs on torch 2.14 only with
kornia <= 0.4.1 (a 2020 release; kornia 0.9 lacks the function it calls) and declares pytest,
coveralls, ipython and pytest-mock as install requirements; its colour decorrelation is ImageNet's
matrix as a module constant, and `render_vis` optimizes one objective of one model at a time. The
pieces the claims need are short, so they are written here for a batch of images whose arms
(parameterization x transforms x objective) differ image by image, in one forward pass.

The model protocol (benchmark.models.scene_classifier.SceneClassifier): `all_features(x)` gives
the post-ReLU map of every conv layer for images x in [-1, 1], `resume(h, n_layers)` the logits
from the last one, and `convs[i]` is conv layer i + 1 (its output, before the ReLU, is what a
channel objective maximizes).

Everything random (initial parameters, transform draws) comes from seeded torch Generators, so a
seed names one set of images (tests/test_feature_vis_machinery.py checks the bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.parallel import progress

OBJECTIVES = ("logit", "softmax", "channel", "direction")
PARAMS = ("pixel", "fourier")


# ----------------------------------------------------------------------------- colour
class ColourDecorrelation:
    """Maps decorrelated colour coordinates y to RGB: rgb = mean + L y, with L = U sqrt(S) / max
    column norm from the SVD of the pixel colour covariance (Lucid's construction, here from the
    scene data's own pixels rather than ImageNet's). Invertible: `inverse(forward(y)) == y`."""

    def __init__(self, cov: np.ndarray, mean: np.ndarray):
        cov = np.asarray(cov, np.float64)
        if cov.shape != (3, 3) or not np.allclose(cov, cov.T):
            raise ValueError("colour covariance must be a symmetric 3x3 matrix")
        u, s, _ = np.linalg.svd(cov)
        if s.min() <= 0:
            raise ValueError("colour covariance must be positive definite")
        sqrt = u * np.sqrt(s)[None, :]
        sqrt = sqrt / np.linalg.norm(sqrt, axis=0).max()
        self.matrix = torch.tensor(sqrt, dtype=torch.float32)
        self.inverse_matrix = torch.tensor(np.linalg.inv(sqrt), dtype=torch.float32)
        self.mean = torch.tensor(np.asarray(mean, np.float64), dtype=torch.float32)

    @classmethod
    def from_images(cls, images: np.ndarray) -> "ColourDecorrelation":
        """From uint8 NHWC images: covariance and mean of their pixels on the models' [-1, 1] scale."""
        px = images.reshape(-1, 3).astype(np.float64) / 127.5 - 1.0
        return cls(np.cov(px, rowvar=False), px.mean(0))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) decorrelated -> (B, 3, H, W) centred RGB (the mean is added by `to_rgb`)."""
        return torch.einsum("ij,bjhw->bihw", self.matrix, y)

    def inverse(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ij,bjhw->bihw", self.inverse_matrix, x)


# ----------------------------------------------------------------------------- parameterizations
def frequency_radius(h: int, w: int) -> torch.Tensor:
    """|f| in cycles per pixel on the rfft2 grid (h, w // 2 + 1)."""
    fy = torch.fft.fftfreq(h)[:, None]
    fx = torch.fft.rfftfreq(w)[None, :]
    return torch.sqrt(fx ** 2 + fy ** 2)


def fourier_scale(h: int, w: int, decay: float = 1.0) -> torch.Tensor:
    """1 / |f|^decay (the DC term gets 1 / (1 / max(h, w))): natural images' 1/f amplitude falloff."""
    return 1.0 / frequency_radius(h, w).clamp(min=1.0 / max(h, w)) ** decay


def fourier_image(spectrum: torch.Tensor, scale: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(B, 3, h, w//2+1, 2) real/imaginary parameters -> (B, 3, h, w) image in decorrelated space."""
    spec = torch.complex(spectrum[..., 0], spectrum[..., 1]) * scale
    return torch.fft.irfft2(spec, s=(h, w), norm="ortho") / 4.0


@dataclass(frozen=True)
class Arm:
    """One way of making a visualization: parameterization, transformation robustness, objective
    (logit or log-softmax of a class, a channel's mean activation at `layer`, or the mean of its
    activation vector's projection on a direction of that layer's activation space), and the weight of
    the diversity penalty among the images of one group (0: none)."""
    name: str
    param: str
    transforms: bool
    objective: str
    diversity: float = 0.0

    def __post_init__(self):
        if self.param not in PARAMS:
            raise ValueError(f"arm {self.name}: param must be one of {PARAMS}, got {self.param!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"arm {self.name}: objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.diversity < 0:
            raise ValueError(f"arm {self.name}: diversity weight must be >= 0")


@dataclass(frozen=True)
class Job:
    """One image to optimize: its arm, target (class index or channel), group (images of one group
    share a diversity penalty), the seed of its initial parameters (images with the same init seed
    and parameterization start from the same image: the arms' pairing), and `scale` (the
    target's typical activation, which sets the diversity penalty's units); a direction objective
    carries its `direction` (target: the direction's index)."""
    arm: Arm
    target: int
    group: int
    init_seed: int
    scale: float = 1.0
    pair: int = 0                    # start (class jobs) or image index (unit jobs): the pairing key
    direction: tuple[float, ...] = ()  # direction objectives: the unit vector in the layer's channel space


@dataclass(frozen=True)
class TransformSpec:
    """Transformation robustness, Lucid's jitter-scale-rotate-jitter scaled to 32-pixel images:
    one random affine map per image and step (translation, isotropic scale, rotation)."""
    translate: float = 2.0           # pixels, uniform in [-t, t] (both axes)
    scale: tuple[float, float] = (0.9, 1.1)
    rotate: float = 10.0             # degrees, uniform in [-r, r]


def random_affine(x: torch.Tensor, spec: TransformSpec, gen: torch.Generator) -> torch.Tensor:
    """Each image of x (B, 3, H, W) moved by its own random translation, scale and rotation
    (bilinear, reflected at the border)."""
    b, _, h, w = x.shape
    u = torch.rand(b, 4, generator=gen)
    s = spec.scale[0] + (spec.scale[1] - spec.scale[0]) * u[:, 0]
    a = torch.deg2rad((2 * u[:, 1] - 1) * spec.rotate)
    tx = (2 * u[:, 2] - 1) * spec.translate * 2 / w
    ty = (2 * u[:, 3] - 1) * spec.translate * 2 / h
    theta = torch.stack([torch.stack([torch.cos(a) / s, -torch.sin(a) / s, tx], 1),
                         torch.stack([torch.sin(a) / s, torch.cos(a) / s, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


# ----------------------------------------------------------------------------- the batch
class ImageBatch(torch.nn.Module):
    """The parameters of a batch of images, pixel- or Fourier-parameterized per image.

    pixel:   rgb = tanh(p + atanh(mean)),  p (3, H, W), the plain parameterization;
    fourier: rgb = tanh(L irfft2(s * c) + atanh(mean)), c the spectrum, s = 1/|f|, L the colour
             decorrelation. A zero parameter gives the flat mean-colour image in both.
    Initial parameters: N(0, 0.01^2) from each job's init seed (the same draw for both kinds'
    shapes is not needed: pairing is within a parameterization).
    """

    def __init__(self, jobs: list[Job], colour: ColourDecorrelation, size: int = 32, init_sd: float = 0.01):
        super().__init__()
        self.size, self.colour = size, colour
        self.is_fourier = torch.tensor([j.arm.param == "fourier" for j in jobs])
        pix, four = [], []
        for j in jobs:
            g = torch.Generator().manual_seed(int(j.init_seed))
            if j.arm.param == "pixel":
                pix.append(torch.randn(3, size, size, generator=g) * init_sd)
            else:
                four.append(torch.randn(3, size, size // 2 + 1, 2, generator=g) * init_sd)
        self.pixel = torch.nn.Parameter(torch.stack(pix) if pix else torch.zeros(0, 3, size, size))
        self.spectrum = torch.nn.Parameter(torch.stack(four) if four else torch.zeros(0, 3, size, size // 2 + 1, 2))
        self.register_buffer("scale", fourier_scale(size, size))
        self.register_buffer("offset", torch.atanh(colour.mean.clamp(-0.95, 0.95)).view(1, 3, 1, 1))
        order = torch.empty(len(jobs), dtype=torch.long)
        order[~self.is_fourier] = torch.arange(int((~self.is_fourier).sum()))
        order[self.is_fourier] = torch.arange(int(self.is_fourier.sum())) + int((~self.is_fourier).sum())
        self.register_buffer("order", order)

    def forward(self) -> torch.Tensor:
        """(B, 3, H, W) images in [-1, 1], in job order."""
        parts = [self.pixel]
        if len(self.spectrum):
            parts.append(self.colour.forward(fourier_image(self.spectrum, self.scale, self.size, self.size)))
        pre = torch.cat(parts)[self.order]
        return torch.tanh(pre + self.offset)


def gram_cosine(features: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, N) cosine similarity of the images' flattened Gram matrices."""
    f = features.flatten(2)
    gram = torch.bmm(f, f.transpose(1, 2)).flatten(1)
    gram = F.normalize(gram, dim=1, eps=1e-12)
    return gram @ gram.T


def objective_values(logits: torch.Tensor, units: torch.Tensor | None, jobs: list[Job]) -> torch.Tensor:
    """Per image, the quantity its arm maximizes (before the diversity penalty); `units` is the
    unit layer's pre-ReLU map (B, C, H, W), needed only by channel and direction objectives."""
    kinds = [j.arm.objective for j in jobs]
    tgt = torch.tensor([j.target for j in jobs])
    rows = torch.arange(len(jobs))
    out = torch.zeros(len(jobs), dtype=logits.dtype)
    is_logit = torch.tensor([k == "logit" for k in kinds])
    is_soft = torch.tensor([k == "softmax" for k in kinds])
    is_chan = torch.tensor([k == "channel" for k in kinds])
    if is_logit.any():
        out = torch.where(is_logit, logits[rows, tgt.clamp(max=logits.shape[1] - 1)], out)
    if is_soft.any():
        out = torch.where(is_soft, F.log_softmax(logits, 1)[rows, tgt.clamp(max=logits.shape[1] - 1)], out)
    if is_chan.any():
        unit = units.mean(dim=(2, 3))
        out = torch.where(is_chan, unit[rows, tgt.clamp(max=unit.shape[1] - 1)], out)
    is_dir = torch.tensor([k == "direction" for k in kinds])
    if is_dir.any():
        dirs = torch.tensor([j.direction if j.arm.objective == "direction" else (0.0,) * units.shape[1] for j in jobs],
                            dtype=units.dtype)
        out = torch.where(is_dir, (units.mean(dim=(2, 3)) * dirs).sum(1), out)
    return out


def diversity_penalty(feats_low: torch.Tensor, jobs: list[Job]) -> torch.Tensor:
    """Sum over diverse groups of weight * scale * (sum over images of their mean cosine to the
    group's other images' Gram matrices): the article's penalty, one group per unit."""
    total = feats_low.new_zeros(())
    groups: dict[int, list[int]] = {}
    for i, j in enumerate(jobs):
        if j.arm.diversity > 0:
            groups.setdefault(j.group, []).append(i)
    for idx in groups.values():
        if len(idx) < 2:
            continue
        cos = gram_cosine(feats_low[idx])
        n = len(idx)
        pair_mean = (cos.sum(1) - cos.diagonal()) / (n - 1)
        w = jobs[idx[0]].arm.diversity * jobs[idx[0]].scale
        total = total + w * pair_mean.sum()
    return total


@dataclass(frozen=True)
class OptimConfig:
    steps: int = 256
    lr: float = 0.05                 # olah2017: Adam, lr 0.05
    unit_layer: int = 4              # layer of the channel objective
    gram_layer: int = 2              # lower layer of the diversity penalty (Gram matrices)
    transforms: TransformSpec = TransformSpec()
    snapshots: tuple[int, ...] = ()  # steps at which the images are also returned (convergence pilots)


def visualize(model: torch.nn.Module, jobs: list[Job], colour: ColourDecorrelation, cfg: OptimConfig,
              transform_seed: int) -> dict[int, torch.Tensor]:
    """Optimize every job's image at once (their losses are independent apart from diversity
    groups, and Adam is element-wise, so one batch is many separate optimizations).

    Returns {step: images (B, 3, H, W) in [-1, 1]} for step 0 (the start), every snapshot step and
    cfg.steps; images are evaluated untransformed.
    """
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    batch = ImageBatch(jobs, colour, size=getattr(model, "image_size", 32))  # paper scale: the network's input size
    opt = torch.optim.Adam(batch.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(int(transform_seed))
    use_t = torch.tensor([j.arm.transforms for j in jobs]).view(-1, 1, 1, 1)
    n_layers = None
    out = {0: batch().detach().clone()}
    # channel (and direction) objectives act on the unit layer's pre-ReLU map (read by a hook on model.convs): a
    # channel that is zero everywhere on the start image has no gradient after its ReLU, and its
    # plain visualization would never leave the start (Lucid's "redirected ReLU" addresses the same)
    pre: dict[str, torch.Tensor] = {}
    hook = None
    if any(j.arm.objective in ("channel", "direction") for j in jobs):
        hook = model.convs[cfg.unit_layer - 1].register_forward_hook(lambda m, i, o: pre.__setitem__("map", o))
    try:
        for step in progress(range(1, cfg.steps + 1), desc="optimization steps"):
            x = batch()
            if use_t.any():
                x = torch.where(use_t, random_affine(x, cfg.transforms, gen), x)
            feats = model.all_features(x)
            n_layers = n_layers or len(feats)
            logits = model.resume(feats[-1], n_layers)
            obj = objective_values(logits, pre.get("map"), jobs)
            loss = -obj.sum() + diversity_penalty(feats[cfg.gram_layer - 1], jobs)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step in cfg.snapshots or step == cfg.steps:
                out[step] = batch().detach().clone()
    finally:
        if hook is not None:
            hook.remove()
    return out


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """(logits, conv features) of untransformed images."""
    feats = model.all_features(images)
    return model.resume(feats[-1], len(feats)), feats


def seed_for(*parts: int) -> int:
    """A stable 63-bit seed from integer parts (network seed, class, start, ...)."""
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFFFFFF)) * 1099511628211) % (1 << 63)
    return h


__all__ = ["Arm", "ColourDecorrelation", "ImageBatch", "Job", "OptimConfig", "TransformSpec", "evaluate",
           "fourier_image", "fourier_scale", "frequency_radius", "gram_cosine", "random_affine", "seed_for",
           "visualize"]
