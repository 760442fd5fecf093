"""Known answers for the feature-visualization machinery (olah2017 family), on tiny hand-made nets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from benchmark.families.feature_vis.optimization import (Arm, ColourDecorrelation, ImageBatch, Job, OptimConfig, fourier_image,
                                          fourier_scale, gram_cosine, visualize)
from benchmark.families.feature_vis.measures import (concept_share, hf_share, label_distance, radial_spectrum,
                                                   softmax_gain_split)


class ColourNet(nn.Module):
    """Layer 1: 1x1 conv, channel c responds to colour direction `colours[c]`; layer 2: a fixed
    3x3 conv; logits: the pooled layer-2 map through a linear read-out."""

    def __init__(self, colours: list[tuple[float, float, float]]):
        super().__init__()
        self.c1 = nn.Conv2d(3, len(colours), 1)
        self.c2 = nn.Conv2d(len(colours), 4, 3, padding=1)
        self.convs = nn.ModuleList([self.c1, self.c2])
        self.fc = nn.Linear(4, 3)
        with torch.no_grad():
            self.c1.weight.copy_(torch.tensor(colours).view(len(colours), 3, 1, 1))
            self.c1.bias.zero_()
            g = torch.Generator().manual_seed(0)
            self.c2.weight.copy_(torch.randn(self.c2.weight.shape, generator=g) * 0.3)
            self.fc.weight.copy_(torch.randn(self.fc.weight.shape, generator=g))

    def all_features(self, x):
        h1 = torch.relu(self.c1(x))
        return [h1, torch.relu(self.c2(h1))]

    def resume(self, h, layer):
        return self.fc(h.mean(dim=(2, 3)))


RED, GREEN, BLUE = (1.0, -0.5, -0.5), (-0.5, 1.0, -0.5), (-0.5, -0.5, 1.0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """One thread, as in the stages (the tiny nets are slower with several under contention)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _scene_like_colour() -> ColourDecorrelation:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    return ColourDecorrelation(a @ a.T + 0.1 * np.eye(3), np.array([0.1, 0.0, -0.1]))


def test_fourier_image_with_zero_spectrum_is_flat():
    colour = _scene_like_colour()
    spec = torch.zeros(2, 3, 32, 17, 2)
    assert torch.count_nonzero(fourier_image(spec, fourier_scale(32, 32), 32, 32)) == 0
    jobs = [Job(Arm("f", "fourier", False, "logit"), 0, 0, 1), Job(Arm("p", "pixel", False, "logit"), 0, 1, 2)]
    batch = ImageBatch(jobs, colour)
    with torch.no_grad():
        batch.spectrum.zero_()
        batch.pixel.zero_()
        img = batch()
    assert torch.allclose(img, img[:, :, :1, :1].expand_as(img))          # flat
    assert torch.allclose(img[:, :, 0, 0], colour.mean.clamp(-0.95, 0.95).expand(2, 3), atol=1e-6)  # at the mean colour
    with torch.no_grad():
        batch.spectrum[0, 1, 3, 2, 0] = 1.0                             # one frequency: no longer flat
    assert batch()[0].std() > 1e-4


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000))
def test_colour_decorrelation_is_invertible(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 3))
    colour = ColourDecorrelation(a @ a.T + 0.05 * np.eye(3), rng.uniform(-0.5, 0.5, 3))
    y = torch.from_numpy(rng.normal(size=(2, 3, 4, 5)).astype(np.float32))
    assert torch.allclose(colour.inverse(colour.forward(y)), y, atol=1e-4)
    # L L^T is the covariance up to one scale factor: the decorrelation whitens the scene colours
    cov = (colour.matrix.double() @ colour.matrix.double().T).numpy()
    ratio = cov / (a @ a.T + 0.05 * np.eye(3))
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-4)


def test_colour_decorrelation_from_images_uses_their_statistics():
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(20, 8, 8, 3)).astype(np.uint8)
    imgs[..., 1] = imgs[..., 0] // 2 + 60                                  # green follows red
    colour = ColourDecorrelation.from_images(imgs)
    px = imgs.reshape(-1, 3) / 127.5 - 1
    assert np.allclose(colour.mean.numpy(), px.mean(0), atol=1e-6)
    lead = colour.matrix[:, 0].abs()
    assert lead[0] > 0.3 and lead[1] > 0.15                                # red and green load on one axis


def test_a_unit_that_responds_to_one_colour_is_visualized_in_that_colour():
    net = ColourNet([RED, GREEN, BLUE])
    colour = ColourDecorrelation(np.eye(3), np.zeros(3))                   # no colour prior: the unit alone decides
    jobs = [Job(Arm(f"{p}{t}", p, t, "channel"), c, 0, 10 + c) for c in range(3)
            for p in ("pixel", "fourier") for t in (False, True)]
    imgs = visualize(net, jobs, colour, OptimConfig(steps=60, unit_layer=1), transform_seed=3)[60]
    means = imgs.mean(dim=(2, 3))
    for i, j in enumerate(jobs):
        others = [k for k in range(3) if k != j.target]
        assert (means[i, j.target] > means[i, others] + 0.15).all(), (j, means[i])


def test_logit_objective_raises_its_logit_and_softmax_its_probability():
    net = ColourNet([RED, GREEN, BLUE])
    colour = _scene_like_colour()
    jobs = [Job(Arm("l", "fourier", True, "logit"), 1, 0, 5), Job(Arm("s", "fourier", True, "softmax"), 1, 1, 5)]
    out = visualize(net, jobs, colour, OptimConfig(steps=30), transform_seed=0)
    with torch.no_grad():
        z0 = net.resume(net.all_features(out[0])[-1], 2)
        z1 = net.resume(net.all_features(out[30])[-1], 2)
    assert torch.allclose(out[0][0], out[0][1])                            # paired arms share their start
    assert z1[0, 1] > z0[0, 1] + 0.1
    assert torch.log_softmax(z1, 1)[1, 1] > torch.log_softmax(z0, 1)[1, 1] + 0.05


def test_diversity_penalty_lowers_gram_similarity():
    net = ColourNet([RED, GREEN, BLUE])
    colour = _scene_like_colour()
    plain = [Job(Arm("p", "fourier", True, "channel"), 0, 0, 20 + i) for i in range(3)]
    div = [Job(Arm("d", "fourier", True, "channel", diversity=5.0), 0, 1, 20 + i) for i in range(3)]
    imgs = visualize(net, plain + div, colour, OptimConfig(steps=40, unit_layer=1, gram_layer=2), transform_seed=1)[40]
    with torch.no_grad():
        low = net.all_features(imgs)[1]
    sim = [gram_cosine(low[s]).triu(1).sum() / 3 for s in (slice(0, 3), slice(3, 6))]
    assert sim[1] < sim[0]


def test_visualize_is_deterministic():
    net = ColourNet([RED, GREEN, BLUE])
    colour = _scene_like_colour()
    jobs = [Job(Arm("a", "pixel", True, "logit"), 0, 0, 1), Job(Arm("b", "fourier", True, "softmax"), 2, 1, 2)]
    a = visualize(net, jobs, colour, OptimConfig(steps=8), transform_seed=4)[8]
    b = visualize(net, jobs, colour, OptimConfig(steps=8), transform_seed=4)[8]
    c = visualize(net, jobs, colour, OptimConfig(steps=8), transform_seed=5)[8]
    assert a.numpy().tobytes() == b.numpy().tobytes()
    assert not torch.equal(a, c)


def test_high_frequency_share_ranks_white_noise_above_a_smooth_image():
    g = torch.Generator().manual_seed(0)
    noise = torch.randn(8, 3, 32, 32, generator=g)
    yy, xx = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    smooth = torch.stack([torch.sin(2 * np.pi * (xx * a + yy * b) / 32) for a, b in ((1, 0), (0, 2), (1, 1))])[None]
    share_noise, share_smooth = hf_share(noise), hf_share(smooth)
    assert share_smooth[0] < 1e-6
    # white noise: about the share of frequency bins above half Nyquist
    f = torch.fft.fftfreq(32)
    r = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    expected = float((r > 0.25).sum() / (r > 0).sum())
    assert abs(share_noise.mean() - expected) < 0.03
    assert np.isnan(hf_share(torch.zeros(1, 3, 32, 32))[0])
    radii, power = radial_spectrum(smooth)
    assert radii[np.argmax(power)] in (1, 2) and power[radii > 3].max() < 1e-12


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_softmax_gain_split_sums_and_attributes(seed):
    rng = np.random.default_rng(seed)
    start = rng.normal(size=(5, 4))
    end = start + rng.normal(size=(5, 4))
    tgt = rng.integers(0, 4, 5)
    s = softmax_gain_split(start, end, tgt)
    assert np.allclose(s["from_target"] + s["from_others"], s["total"])
    only_others = start.copy()
    only_others[np.arange(5), tgt] -= 0.0
    only_others += np.where(np.eye(4)[tgt] > 0, 0.0, -1.0)                 # lower every other logit by 1
    s2 = softmax_gain_split(start, only_others, tgt)
    assert np.allclose(s2["from_target"], 0) and (s2["from_others"] > 0).all()
    up = start + 2.0 * np.eye(4)[tgt]                                       # raise only the target
    s3 = softmax_gain_split(start, up, tgt)
    assert np.allclose(s3["from_others"], 0) and (s3["from_target"] > 0).all()


def test_segmenter_measures():
    a = torch.zeros(3, 4, 4, dtype=torch.long)
    a[1, :2] = 3
    a[2] = 5
    assert np.allclose(concept_share(a, [3, 5]), [0, 0.5, 1])
    assert np.isclose(label_distance(a), np.mean([0.5, 1.0, 1.0]))
    assert np.isnan(label_distance(a[:1]))


def test_a_channel_dead_on_the_start_image_is_still_visualized():
    """Channel objectives act before the ReLU: a channel that is zero everywhere at the start
    (negative bias) still gets a gradient and comes alive."""
    net = ColourNet([RED, GREEN, BLUE])
    with torch.no_grad():
        net.c1.bias.fill_(-0.5)
    colour = ColourDecorrelation(np.eye(3), np.zeros(3))
    jobs = [Job(Arm("p", "fourier", True, "channel"), 0, 0, 3)]
    out = visualize(net, jobs, colour, OptimConfig(steps=60, unit_layer=1), transform_seed=0)
    with torch.no_grad():
        start, end = (net.all_features(out[s])[0][0, 0].mean().item() for s in (0, 60))
    assert start == 0.0 and end > 0.05
