"""Paper-scale architectures: one training step of each on random data at the papers' input
shapes (CPU, batch 2), the probes' unit interface, and user weights loaded without pickle.

Shapes: CIFAR 3x32x32 (ResNet20, morcos2018's CNN), Tiny ImageNet 3x64x64 (ResNet18, ResNet50 as
in leavitt2021); VGG16 runs at 64x64 here to keep the test fast (Places365 is 224x224: the same
layers, the adaptive pool makes the classifier's shape independent of the input size).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from benchmark.data.splits import Split
from benchmark.errors import DataError
from benchmark.experiments.paper_train import fit, train_paper_network
from benchmark.families.leavitt.regularizer import SelectivityRegularizer
from benchmark.experiments.train import TrainConfig
from benchmark.models.paper_gan import ProgressiveGenerator, load_generator, sequential_to_named
from benchmark.models.paper_segmenter import UserSegmenter, load_segmenter
from benchmark.models.paper_zoo import build_paper, load_weights

@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread, as the suite's workers run (and fast on a shared 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


SHAPES = {"resnet20": (3, 32, 32), "morcos_cnn11": (3, 32, 32), "resnet18": (3, 64, 64),
          "resnet50": (3, 64, 64), "vgg16": (3, 64, 64), "vgg16_narrow": (3, 64, 64)}


@pytest.mark.parametrize("arch", sorted(SHAPES))
def test_one_training_step_changes_the_weights(arch):
    shape = SHAPES[arch]
    torch.manual_seed(1)
    model = build_paper(arch, shape, 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(2, *shape), torch.tensor([3, 7])
    cfg = TrainConfig(arch=arch, hidden=(1,), epochs=1, lr=0.01, batch_size=2)
    reg = SelectivityRegularizer(-1.0, 10) if arch in ("resnet20", "resnet18") else None  # the leavitt2021 path
    assert fit(model, cfg, x, y, torch.Generator().manual_seed(1), torch.device("cpu"), regularizer=reg, max_steps=1) == 1
    after = model.state_dict()
    moved = [k for k, v in after.items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    first, last = next(iter(before)), [k for k in before if k.endswith("weight")][-1]
    assert first in moved and last in moved, "one SGD step must reach the first and the last layer"
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x)).all()


def test_vgg16_narrow_is_vgg16_at_an_eighth_of_its_widths():
    """The fixture run's VGG16 (benchmark.paper.smoke) has VGG16's modules, keys, blocks and head,
    so the loaders and probes take the same paths; only the widths differ."""
    with torch.device("meta"):  # the 138 M parameters of the real one, without their memory
        full = build_paper("vgg16", (3, 224, 224), 365)
    narrow = build_paper("vgg16_narrow", (3, 224, 224), 365)
    assert [type(m) for m in narrow.modules()] == [type(m) for m in full.modules()]
    assert list(narrow.state_dict()) == list(full.state_dict())
    assert narrow.widths == [w // 8 for w in full.widths] and len(narrow.blocks) == 13
    fcs = [(m.in_features, m.out_features) for m in narrow.modules() if isinstance(m, torch.nn.Linear)]
    assert fcs == [(25088 // 8, 4096 // 8), (4096 // 8, 4096 // 8), (4096 // 8, 365)]


def test_paper_trainer_end_to_end_is_deterministic():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 32, 32)).astype(np.float32)
    split = Split(x[:4], np.array([0, 1, 2, 3]), x[4:], np.array([0, 1]), n_classes=10)
    cfg = TrainConfig(arch="resnet20", hidden=(1,), epochs=2, lr=0.05, batch_size=2)
    a, b = (train_paper_network(cfg, split, seed=5) for _ in range(2))
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state) and a.metrics == b.metrics
    c = train_paper_network(cfg, split, seed=6)
    assert not all(torch.equal(a.state[k], c.state[k]) for k in a.state)


def test_unit_interface_resumes_from_every_block():
    m = build_paper("resnet20", (3, 32, 32), 10).eval()
    x = torch.randn(2, 3 * 32 * 32)  # flattened input, as the probes pass it
    acts = m.activations(x)
    assert [a.shape[1] for a in acts] == m.widths == [16] * 3 + [32] * 3 + [64] * 3
    for k in (0, 4, 8):
        assert torch.allclose(m.forward_from(k, acts[k]), m(x), atol=1e-5)


def test_user_weights_load_strictly(tmp_path):
    src = build_paper("resnet20", (3, 32, 32), 10)
    torch.save({"state_dict": src.state_dict()}, tmp_path / "w.pt")
    dst = load_weights(build_paper("resnet20", (3, 32, 32), 10), tmp_path / "w.pt")
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in dst.state_dict().items())
    with pytest.raises(DataError, match=r"w.pt: key 'head.2.weight' has shape \(10, 64\)"):
        load_weights(build_paper("resnet20", (3, 32, 32), 7), tmp_path / "w.pt")


def test_progressive_gan_loads_either_key_layout(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    g = ProgressiveGenerator(resolution=16, nz=32)
    for p in g.parameters():
        torch.nn.init.normal_(p, std=0.05)
    named = {k: v.contiguous() for k, v in g.state_dict().items()}
    to_seq = {v: k for k, v in sequential_to_named(16).items()}
    seq = {}
    for k, v in named.items():
        prefix = next(p for p in to_seq if k.startswith(p))
        seq[to_seq[prefix] + k[len(prefix):]] = v
    save_file(named, str(tmp_path / "named.safetensors"))
    torch.save(seq, tmp_path / "seq.pth")
    z = torch.randn(2, 32)
    with torch.no_grad():
        want = g.eval()(z)
        assert want.shape == (2, 3, 16, 16) and g.features(z, 4).shape == (2, 512, 8, 8)
        for f in ("named.safetensors", "seq.pth"):
            assert torch.equal(load_generator(tmp_path / f, resolution=16, nz=32)(z), want)
        h = g.features(z, 4)
        assert torch.allclose(g.resume(h, 4), want)
    del seq["features.3.wscale.b"]
    torch.save(seq, tmp_path / "bad.pth")
    with pytest.raises(DataError, match="layer4.wscale.b"):
        load_generator(tmp_path / "bad.pth", resolution=16, nz=32)


def test_user_segmenter_interface(tmp_path):
    class Seg(torch.nn.Module):
        def forward(self, x):
            return torch.cat([x[:, :1], -x[:, :1]], 1)

    torch.jit.save(torch.jit.script(Seg()), str(tmp_path / "segmenter.pt"))
    (tmp_path / "concepts.json").write_text(json.dumps({"concepts": ["tree", "sky"]}))
    seg = load_segmenter(tmp_path)
    x = torch.randn(1, 3, 8, 8)
    assert torch.equal(seg.labels(x), (x[:, 0] < 0).long())
    (tmp_path / "concepts.json").write_text(json.dumps({"concepts": ["tree", "sky", "door"]}))
    with pytest.raises(DataError, match="one channel per name"):
        load_segmenter(tmp_path)(x)


def test_user_segmenter_from_torch_export(tmp_path):
    """The segmenter as a torch.export program (.pt2), which replaces TorchScript: same labels, any
    batch size through its dynamic batch dimension, preferred to a segmenter.pt beside it, and a
    damaged file named."""
    class Seg(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 2, 1)

        def forward(self, x):
            return self.conv(x)

    torch.manual_seed(0)
    net = Seg().eval()
    program = torch.export.export(net, (torch.zeros(2, 3, 8, 8),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, str(tmp_path / "segmenter.pt2"))
    (tmp_path / "segmenter.pt").write_bytes(b"not read: the .pt2 wins")
    (tmp_path / "concepts.json").write_text(json.dumps({"concepts": ["tree", "sky"]}))
    seg = load_segmenter(tmp_path)
    assert seg.file == str(tmp_path / "segmenter.pt2")
    x = torch.randn(UserSegmenter.CHUNK + 3, 3, 8, 8)  # two chunks of different sizes
    with torch.no_grad():
        assert torch.allclose(seg(x), net(x), atol=1e-6)
        assert torch.equal(seg.labels(x), net(x).argmax(1))
    (tmp_path / "segmenter.pt2").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(DataError, match=r"segmenter\.pt2: not a torch.export program"):
        load_segmenter(tmp_path)
