"""The feature-visualization family (olah2017) in the report: image grids (logit vs softmax,
diverse vs not, every regularization arm next to real scenes of the class), the radially averaged
spectra of all arms and real scenes, and the section's text. Deterministic PNGs (no Software
chunk, fixed size, dpi and font)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.reporting.scene_gan import grid, md_table  # noqa: E402

ARM_COLOURS = {"real scenes": "black", "pixel": "tab:red", "pixel_transforms": "tab:orange",
               "fourier": "tab:blue", "fourier_transforms": "tab:green", "softmax": "tab:purple"}


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> uint8 (N, H, W, 3)."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def spectra_figure(spectra: pd.DataFrame, path: Path) -> None:
    """Mean radially averaged power (log scale) against radius in cycles per image, one line per
    arm and one for real scenes; half Nyquist marked."""
    with plt.rc_context({"font.size": 8, "font.family": "DejaVu Sans"}):
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
        for arm, sub in spectra.groupby("arm", sort=False):
            m = sub.groupby("radius").power.mean()
            ax.plot(m.index, m.values, label=arm, color=ARM_COLOURS.get(arm), lw=2 if arm == "real scenes" else 1.2)
        half = spectra.radius.max() / 2
        ax.axvline(half, color="grey", ls="--", lw=0.8)
        ax.text(half, ax.get_ylim()[1], " half Nyquist", va="top", fontsize=7, color="grey")
        ax.set_yscale("log")
        ax.set_xlabel("spatial frequency (cycles per image)")
        ax.set_ylabel("mean power (centred images)")
        ax.legend(frameon=False, fontsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())


def class_grid(rows: list[tuple[str, np.ndarray]], path: Path) -> None:
    grid(rows, path, legend=False)


def section(n_networks: int, seeds: list[int], cfg, figures: dict[str, str], summary: pd.DataFrame,
            real_hf: dict[str, float], accuracy: dict[int, float], seg_iou: float) -> str:
    """The report section: setup, the figures, and a per-arm summary (descriptive; the claims'
    verdicts are in their own entries)."""
    lines = [
        f"Networks: the {n_networks} scene classifiers of stage train_scene_classifier (seeds {seeds}; held-out accuracy "
        f"{min(accuracy.values()):.3f}-{max(accuracy.values()):.3f}), each visualized independently: the network is the "
        f"replicate of every claim below. Every image is optimized for {cfg.steps} Adam steps at lr {cfg.lr} "
        f"(olah2017: 2560 steps, lr 0.05), {cfg.starts} start(s) per class and arm, for the classes {', '.join(cfg.classes)}. "
        f"Decorrelated Fourier: 1/f amplitude scaling and colour decorrelation from the scene training pixels' own covariance. "
        f"Transforms: translation +-{cfg.transforms.translate} px, scale {cfg.transforms.scale[0]}-{cfg.transforms.scale[1]}, "
        f"rotation +-{cfg.transforms.rotate} degrees, a fresh draw per image and step. Diversity (O2): {cfg.diversity_images} "
        f"images of each of the {cfg.units} most active channels of conv layer {cfg.unit_layer}, penalty weight "
        f"{cfg.diversity_weight} x the channel's top activation on real scenes, on the cosine of Gram matrices at conv layer "
        f"{cfg.gram_layer}. The reference segmenter (scene GAN family; lowest IoU over the classes' defining concepts "
        f"{seg_iou:.3f}) scores what the images show.",
        "",
        f"![Class visualizations of one network, each regularization arm, next to real scenes of the class]({figures['arms']})",
        "",
        f"![Logit objective (fourier_transforms) against the softmax objective from the same start]({figures['objectives']})",
        "",
        f"![A channel's batch without and with the diversity penalty]({figures['diversity']})",
        "",
        f"![Radially averaged power spectra of every arm and of real scenes (all networks and classes)]({figures['spectra']})",
        "",
        "Per arm, over networks (mean of per-network means): share of spectral power above half Nyquist, probability of "
        "the target class under the network itself (mean, and the share of images where it exceeds one half: the logit "
        "objective raises every logit, and in some images another class's faster) and under the other networks "
        "(transfer), segmenter share of the class's defining concepts. Real scenes' high-frequency share: " +
        ", ".join(f"{k} {v:.3f}" for k, v in real_hf.items()) + ".",
        "",
        md_table(list(summary.columns), summary.values.tolist()),
    ]
    return "\n".join(lines)
