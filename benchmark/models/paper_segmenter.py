"""The segmenter of bau2020 at paper scale, as user-supplied files (the suite cannot train UPerNet
on Broden; nothing is downloaded).

Interface (two files in one folder, `paper_data.segmenter`):
    segmenter.pt     a TorchScript module (torch.jit.save) mapping images (N, 3, H, W) in [-1, 1]
                     (the generator's output range) to concept logits (N, n_concepts, H, W);
                     TorchScript loads without running Python pickle code
    concepts.json    {"concepts": ["tree", "door", "window", ...]}: the name of each logit channel;
                     optionally "validation_iou": {"tree": 0.61, ...}, the segmenter's IoU per concept
                     on labelled validation images (reported next to the claims; the suite has no
                     labelled LSUN pixels to measure it, so it is NaN when absent)
Wrap any segmenter (e.g. UPerNet on Broden) in a module with that forward, script it, save both.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmark.errors import DataError


class UserSegmenter(torch.nn.Module):
    def __init__(self, scripted: torch.nn.Module, concepts: list[str], validation_iou: dict[str, float] | None = None):
        super().__init__()
        self.net, self.concepts = scripted, list(concepts)
        self.validation_iou = {c: float((validation_iou or {}).get(c, float("nan"))) for c in self.concepts}

    CHUNK = 16  # images per call of the user's module: bounded memory at 256x256 whatever the caller's batch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits on the CPU; the user's module runs on this process's device (benchmark.devices)."""
        from benchmark.devices import active

        dev = active()[0]
        if getattr(self, "_device", None) != dev:
            self.net.to(dev)
            self._device = dev
        out = torch.cat([self.net(c.to(dev)).float().cpu() for c in x.split(self.CHUNK)]) if len(x) else self.net(x)
        if out.ndim != 4 or out.shape[1] != len(self.concepts) or out.shape[2:] != x.shape[2:]:
            raise DataError(f"segmenter output {tuple(out.shape)}: expected (N, {len(self.concepts)}, "
                            f"{x.shape[2]}, {x.shape[3]}) logits, one channel per name in concepts.json")
        return out

    def __reduce__(self):
        """Pickled as its folder (a TorchScript module does not pickle): process and Ray workers
        reload it from the same files."""
        if getattr(self, "folder", None) is None:
            raise TypeError("a UserSegmenter pickles only when loaded with load_segmenter(folder)")
        return (load_segmenter, (self.folder,))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Per image, the concept logits averaged over pixels (N, n_concepts): the feature space of
        the GAN family's Frechet distance at paper scale (the embedded segmenter has its own)."""
        return self(x).mean(dim=(2, 3))

    def labels(self, x: torch.Tensor) -> torch.Tensor:
        """The most likely concept per pixel, (N, H, W) int64."""
        return self(x).argmax(1)


def load_segmenter(folder: str | Path) -> UserSegmenter:
    folder = Path(folder)
    model, names = folder / "segmenter.pt", folder / "concepts.json"
    for p in (model, names):
        if not p.is_file():
            raise DataError(f"{p}: not found (the paper-scale segmenter interface, see README 'Paper scale')")
    try:
        doc = json.loads(names.read_text())
        concepts = [str(c) for c in doc["concepts"]]
        val = {str(k): float(v) for k, v in (doc.get("validation_iou") or {}).items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(f"{names}: expected {{\"concepts\": [names], \"validation_iou\": {{name: IoU}} (optional)}} "
                        f"({type(exc).__name__}: {exc})") from None
    if len(set(concepts)) != len(concepts):
        raise DataError(f"{names}: concept names must be unique")
    for k in val:
        if k not in concepts:
            raise DataError(f"{names}: validation_iou names {k!r}, which is not in concepts")
    try:
        scripted = torch.jit.load(str(model), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataError(f"{model}: not a TorchScript file ({type(exc).__name__}: {exc})") from None
    seg = UserSegmenter(scripted, concepts, val).eval()
    seg.folder = str(folder)
    return seg
