"""Picture grids for the scene/GAN sections of the report: images over their label maps.
Deterministic PNGs (no Software chunk, fixed size and dpi)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from benchmark.atomic import write_bytes  # noqa: E402
from benchmark.data.scenes import BOXES, CONCEPTS  # noqa: E402

# a label colour per concept: the middle of its colour box, so masks read like the scenes
LABEL_COLORS = ListedColormap([np.add(*BOXES[c]) / 510 for c in CONCEPTS])


def grid(rows: list[tuple[str, np.ndarray]], path: Path, legend: bool = True) -> None:
    """rows: (title, uint8 images (N, H, W, 3) or label maps (N, H, W)); one row per entry."""
    n = max(len(a) for _, a in rows)
    with plt.rc_context({"font.size": 7, "font.family": "DejaVu Sans"}):
        fig, axes = plt.subplots(len(rows), n, figsize=(0.9 * n + 1.2, 0.95 * len(rows) + (0.5 if legend else 0)),
                                 squeeze=False)
        for r, (title, arr) in enumerate(rows):
            for c in range(n):
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                if c < len(arr):
                    if arr.ndim == 4:
                        ax.imshow(arr[c], interpolation="nearest")
                    else:
                        ax.imshow(arr[c], cmap=LABEL_COLORS, vmin=0, vmax=len(CONCEPTS) - 1, interpolation="nearest")
                if c == 0:
                    ax.set_ylabel(title, rotation=0, ha="right", va="center")
        if legend:
            fig.legend(handles=[Patch(color=LABEL_COLORS(i), label=name) for i, name in enumerate(CONCEPTS)],
                       loc="lower center", ncol=len(CONCEPTS), frameon=False, fontsize=6)
        fig.tight_layout(rect=(0, 0.06 if legend else 0, 1, 1))
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        plt.close(fig)
    write_bytes(path, buf.getvalue())


def md_table(header: list[str], rows: list[list]) -> str:
    fmt = lambda v: f"{v:.3f}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
