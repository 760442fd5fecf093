"""The papers' architectures, built by name (paper scale), with the probes' unit interface.

Every classifier here is a `UnitNet`: a stem, a list of blocks whose outputs are the units the
probes and the selectivity regularizer see (a unit is a channel, averaged over space, as
leavitt2021 does for conv layers), and a head. It has the same `activations` / `forward_from`
interface as benchmark.models.convnet.ConvNet, so every probe treats it alike.

    resnet20       CIFAR ResNet (He et al. 2016, 3 stages x 3 basic blocks, 16/32/64 channels)
    resnet18/50    torchvision's, weights=None; 64x64 inputs (Tiny ImageNet) are fine as they are
    vgg16          torchvision's, weights=None; a unit block is conv+ReLU (13 of them)
    vgg16_narrow   the same layout, blocks, head and initialization at 1/8 of the widths (conv
                   8..64 channels, fc 512): fixture runs and tests of the VGG16 paths, not a paper's
    morcos_cnn11   morcos2018's CIFAR CNN: 11 conv+BN+ReLU layers (64,64,128,128,128,256,256,256,
                   512,512,512; stride 2 at layers 3, 6, 9), one FC layer of 256, read-out

Weights you supply (a network trained elsewhere) load without pickle: `load_weights`.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from benchmark.errors import DataError

PAPER_ARCHS = ("resnet20", "resnet18", "resnet50", "vgg16", "vgg16_narrow", "morcos_cnn11")
NARROW = 8  # vgg16_narrow: every width of VGG16 divided by this


class UnitNet(nn.Module):
    def __init__(self, in_shape: tuple[int, ...], stem: nn.Module, blocks: list[nn.Module], head: nn.Module):
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.stem, self.blocks, self.head = stem, nn.ModuleList(blocks), head

    @property
    def widths(self) -> list[int]:
        """Channels of every unit block (one eval-mode forward of a zero image, on first use)."""
        if not hasattr(self, "_widths"):
            was, p = self.training, next(self.parameters())
            self.eval()
            with torch.no_grad():
                self._widths = [a.shape[1] for a in self._run(torch.zeros(1, *self.in_shape, device=p.device))]
            self.train(was)
        return list(self._widths)

    def _run(self, x: torch.Tensor) -> list[torch.Tensor]:
        h, acts = self.stem(x), []
        for b in self.blocks:
            h = b(h)
            acts.append(h)
        return acts

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Output of every unit block, (N, C, H, W)."""
        return self._run(x.reshape(len(x), *self.in_shape))

    def forward_from(self, layer: int, h: torch.Tensor) -> torch.Tensor:
        """Logits, given the output `h` of block `layer` (-1: `h` is the input)."""
        if layer < 0:
            h = self.stem(h.reshape(len(h), *self.in_shape))
        for b in self.blocks[layer + 1:]:
            h = b(h)
        return self.head(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(-1, x)


class _Basic(nn.Module):
    """CIFAR ResNet basic block; option-B shortcut (1x1 conv + BN) where the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out)
        self.c2, self.b2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out)
        self.short = (nn.Sequential() if stride == 1 and c_in == c_out else
                      nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)))

    def forward(self, x):
        return torch.relu(self.b2(self.c2(torch.relu(self.b1(self.c1(x))))) + self.short(x))


def _head(c: int, n_classes: int, hidden: int | None = None) -> nn.Module:
    layers = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if hidden:
        layers += [nn.Linear(c, hidden), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(hidden or c, n_classes))


def resnet20(in_shape, n_classes: int, widths=(16, 32, 64)) -> UnitNet:
    stem = nn.Sequential(nn.Conv2d(in_shape[0], widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU())
    blocks, c = [], widths[0]
    for s, w in enumerate(widths):
        for i in range(3):
            blocks.append(_Basic(c, w, 2 if s > 0 and i == 0 else 1))
            c = w
    return UnitNet(in_shape, stem, blocks, _head(c, n_classes))


def morcos_cnn11(in_shape, n_classes: int) -> UnitNet:
    chans = (64, 64, 128, 128, 128, 256, 256, 256, 512, 512, 512)
    blocks, c = [], in_shape[0]
    for i, w in enumerate(chans, 1):
        blocks.append(nn.Sequential(nn.Conv2d(c, w, 3, 2 if i in (3, 6, 9) else 1, 1, bias=False),
                                    nn.BatchNorm2d(w), nn.ReLU()))
        c = w
    return UnitNet(in_shape, nn.Identity(), blocks, _head(c, n_classes, hidden=256))


def _torchvision_resnet(name: str, in_shape, n_classes: int) -> UnitNet:
    import torchvision

    m = getattr(torchvision.models, name)(weights=None, num_classes=n_classes)
    stem = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool)
    blocks = [b for layer in (m.layer1, m.layer2, m.layer3, m.layer4) for b in layer]
    return UnitNet(in_shape, stem, blocks, nn.Sequential(m.avgpool, nn.Flatten(), m.fc))


def _narrow_vgg16(n_classes: int, div: int = NARROW) -> nn.Module:
    """torchvision's VGG16 (configuration D, its initialization) with every width divided by `div`;
    built directly, since torchvision's VGG fixes its classifier at 512 x 7 x 7 -> 4096."""
    from torchvision.models.vgg import cfgs, make_layers

    cfg = [v if v == "M" else v // div for v in cfgs["D"]]
    c, fc = cfg[-2], 4096 // div
    m = nn.Module()
    m.features, m.avgpool = make_layers(cfg), nn.AdaptiveAvgPool2d((7, 7))
    m.classifier = nn.Sequential(nn.Linear(c * 7 * 7, fc), nn.ReLU(True), nn.Dropout(0.5),
                                 nn.Linear(fc, fc), nn.ReLU(True), nn.Dropout(0.5), nn.Linear(fc, n_classes))
    for mod in m.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode="fan_out", nonlinearity="relu")
            nn.init.constant_(mod.bias, 0)
        elif isinstance(mod, nn.Linear):
            nn.init.normal_(mod.weight, 0, 0.01)
            nn.init.constant_(mod.bias, 0)
    return m


def _vgg16(in_shape, n_classes: int, narrow: bool = False) -> UnitNet:
    import torchvision

    m = _narrow_vgg16(n_classes) if narrow else torchvision.models.vgg16(weights=None, num_classes=n_classes)
    blocks, cur = [], []
    for mod in m.features:  # conv, relu[, maxpool]: a block ends after its ReLU (and a following pool)
        if isinstance(mod, nn.Conv2d) and cur:
            blocks.append(nn.Sequential(*cur))
            cur = []
        cur.append(mod)
    blocks.append(nn.Sequential(*cur))
    return UnitNet(in_shape, nn.Identity(), blocks, nn.Sequential(m.avgpool, nn.Flatten(), m.classifier))


def build_paper(arch: str, in_shape: tuple[int, ...], n_classes: int) -> UnitNet:
    if len(in_shape) != 3:
        raise ValueError(f"architecture {arch!r} takes (C, H, W) images, got input shape {in_shape}")
    if arch == "resnet20":
        return resnet20(in_shape, n_classes)
    if arch in ("resnet18", "resnet50"):
        return _torchvision_resnet(arch, in_shape, n_classes)
    if arch in ("vgg16", "vgg16_narrow"):
        return _vgg16(in_shape, n_classes, narrow=arch == "vgg16_narrow")
    if arch == "morcos_cnn11":
        return morcos_cnn11(in_shape, n_classes)
    raise ValueError(f"unknown paper architecture {arch!r}; known: {PAPER_ARCHS}")


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from .safetensors, or from a torch file read with weights_only=True (no code
    runs while loading). A {'state_dict': ...} wrapper (common in checkpoints) is unwrapped."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
        raise DataError(f"{path}: cannot read weights ({type(exc).__name__}: {exc})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise DataError(f"{path}: expected a mapping of parameter names to tensors")
    return state


def load_weights(model: nn.Module, path: str | Path, rename: dict[str, str] | None = None) -> nn.Module:
    """Load user weights into `model`, strictly: a missing, extra or mis-shaped key is an error
    naming the file and the key. `rename` maps prefixes of the file's keys to the model's."""
    state = read_state(path)
    if rename:
        def _map(k: str) -> str:
            for old, new in rename.items():
                if k.startswith(old):
                    return new + k[len(old):]
            return k
        state = {_map(k): v for k, v in state.items()}
    own = model.state_dict()
    for k in sorted(set(own) ^ set(state)):
        raise DataError(f"{path}: key {k!r} is {'missing from the file' if k in own else 'not in the model'}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(own[k].shape):
            raise DataError(f"{path}: key {k!r} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
    model.load_state_dict(state)
    return model
