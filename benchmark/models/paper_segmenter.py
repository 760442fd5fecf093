"""The segmenter of bau2020 at paper scale, as user-supplied files (the suite cannot train UPerNet
on Broden; nothing is downloaded).

Interface (two files in one folder, `gan_dissection.paper.segmenter`):
    segmenter.pt     a TorchScript module (torch.jit.save) mapping images (N, 3, H, W) in [-1, 1]
                     (the generator's output range) to concept logits (N, n_concepts, H, W);
                     TorchScript loads without running Python pickle code
    concepts.json    {"concepts": ["tree", "door", "window", ...]}: the name of each logit channel
Wrap any segmenter (e.g. UPerNet on Broden) in a module with that forward, script it, save both.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from benchmark.errors import DataError


class UserSegmenter(torch.nn.Module):
    def __init__(self, scripted: torch.nn.Module, concepts: list[str]):
        super().__init__()
        self.net, self.concepts = scripted, list(concepts)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x)
        if out.ndim != 4 or out.shape[1] != len(self.concepts) or out.shape[2:] != x.shape[2:]:
            raise DataError(f"segmenter output {tuple(out.shape)}: expected (N, {len(self.concepts)}, "
                            f"{x.shape[2]}, {x.shape[3]}) logits, one channel per name in concepts.json")
        return out

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
        concepts = json.loads(names.read_text())["concepts"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{names}: expected {{\"concepts\": [names]}} ({exc})") from None
    try:
        scripted = torch.jit.load(str(model), map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataError(f"{model}: not a TorchScript file ({type(exc).__name__}: {exc})") from None
    return UserSegmenter(scripted, concepts).eval()
