"""The segmenter of bau2020 at paper scale, as user-supplied files (the suite cannot train UPerNet
on Broden; nothing is downloaded).

Interface (two files in one folder, `paper_data.segmenter`):
    segmenter.pt2    a torch.export program (torch.export.save) mapping images (N, 3, H, W) in [-1, 1]
                     (the generator's output range) to concept logits (N, n_concepts, H, W); export it
                     with a dynamic batch dimension (dynamic_shapes={"x": {0: torch.export.Dim("batch")}}):
                     images arrive in chunks of up to 16;
      or segmenter.pt  the same as a TorchScript module (torch.jit.save; deprecated in torch 2.14, read
                     while it lasts); .pt2 wins when both are there. Neither runs Python pickle code
    concepts.json    {"concepts": ["tree", "door", "window", ...]}: the name of each logit channel;
                     optionally "validation_iou": {"tree": 0.61, ...}, the segmenter's IoU per concept
                     on labelled validation images (reported next to the claims; the suite has no
                     labelled LSUN pixels to measure it, so it is NaN when absent)
Wrap any segmenter (e.g. UPerNet on Broden) in a module with that forward, export it, save both.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmark.errors import DataError


class UserSegmenter(torch.nn.Module):
    def __init__(self, net: torch.nn.Module, concepts: list[str], validation_iou: dict[str, float] | None = None):
        super().__init__()
        self.net, self.concepts = net, list(concepts)
        self.validation_iou = {c: float((validation_iou or {}).get(c, float("nan"))) for c in self.concepts}

    def train(self, mode: bool = True) -> "UserSegmenter":
        """Only this wrapper's flag: the user's module runs as loaded (in eval mode; an exported
        program has no train mode to switch)."""
        self.training = mode
        return self

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
        """Pickled as its folder (an exported or TorchScript module does not pickle): process and Ray workers
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


def segmenter_file(folder: Path) -> Path:
    """The model file of a segmenter folder: segmenter.pt2 (torch.export), else segmenter.pt (TorchScript)."""
    exported = folder / "segmenter.pt2"
    return exported if exported.is_file() else folder / "segmenter.pt"


def _read_module(model: Path) -> torch.nn.Module:
    if model.suffix == ".pt2":
        import logging

        log = logging.getLogger("torch.export")
        level = log.level
        log.setLevel(logging.ERROR)  # a failed load logs its traceback as warnings; the error below says it once
        try:
            return torch.export.load(str(model)).module()
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
            raise DataError(f"{model}: not a torch.export program (torch.export.save) ({type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
        finally:
            log.setLevel(level)
    try:
        return torch.jit.load(str(model), map_location="cpu").eval()
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataError(f"{model}: not a TorchScript file ({type(exc).__name__}: {exc})") from None


def load_segmenter(folder: str | Path) -> UserSegmenter:
    folder = Path(folder)
    model, names = segmenter_file(folder), folder / "concepts.json"
    for p in (model, names):
        if not p.is_file():
            shown = f"{folder / 'segmenter.pt2'} (or segmenter.pt)" if p == model else p
            raise DataError(f"{shown}: not found (the paper-scale segmenter interface, see README 'Paper scale')")
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
    seg = UserSegmenter(_read_module(model), concepts, val).eval()
    seg.folder, seg.file = str(folder), str(model)
    return seg
