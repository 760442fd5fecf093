"""Picture grids of scenes over their label maps (deterministic PNGs, no Software chunk, fixed size
and dpi) and one markdown table writer, shared by the scene families' report sections (scene GAN,
classifier dissection, feature visualization) and word information. The scene GAN family's own
sections are in benchmark/families/scene_gan/report.py."""

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


def _label_colors(concepts) -> ListedColormap:
    """Colours for a user segmenter's labels (paper scale): tab20, cycled."""
    tab = plt.get_cmap("tab20")
    return ListedColormap([tab(i % 20) for i in range(len(concepts))])


def grid(rows: list[tuple[str, np.ndarray]], path: Path, legend: bool = True, concepts=None) -> None:
    """rows: (title, uint8 images (N, H, W, 3) or label maps (N, H, W)); one row per entry.
    `concepts`: the label names when they are not the embedded scenes' (paper scale)."""
    cmap, names = (LABEL_COLORS, CONCEPTS) if concepts is None else (_label_colors(concepts), tuple(concepts))
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
                        ax.imshow(arr[c], cmap=cmap, vmin=0, vmax=len(names) - 1, interpolation="nearest")
                if c == 0:
                    ax.set_ylabel(title, rotation=0, ha="right", va="center")
        if legend:
            fig.legend(handles=[Patch(color=cmap(i), label=name) for i, name in enumerate(names)],
                       loc="lower center", ncol=min(len(names), 10), frameon=False, fontsize=6)
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
