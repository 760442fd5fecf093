"""Known answers of guan2019's perturbation measure, its gradient baselines and the claim tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st

from benchmark.families.word_information.measure import (HALF_LOG_2PIE, PerturbationConfig, auc, claim_tables,
                                                         gradient_measures, layer_summary, perturbation_entropy,
                                                         rank_agreement, scale_of, slope, within_sentence_spearman)

CFG = PerturbationConfig(lr=0.05, iterations=120)  # a larger step than the authors' 0.01: same fixed point, fewer steps
TOP = math.log(CFG.noise_scale) + HALF_LOG_2PIE  # entropy of the largest noise: the word is lost


def _inputs(b=3, t=6, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, t, d, generator=g)
    mask = torch.ones(b, t, dtype=torch.bool)
    mask[-1, t - 2:] = False
    return x, mask


def test_copy_keeps_every_word_and_zeroing_loses_that_word():
    x, mask = _inputs()

    def layers(z, m):  # layer 1 copies its input; layer 2 zeros word 1's embedding
        out = z.clone()
        out[:, 1] = 0
        return [z, out]

    h = perturbation_entropy(layers, x, mask, CFG, seed=0)
    kept = h[0][mask]
    # copy: every word kept, well below the top; the optimum of sigma^2 / var - lam log sigma is
    # sigma^2 = lam * var / 2 (var ~ 1 here): h = log sqrt(lam / 2) + const
    assert float(kept.max()) < TOP - 0.5
    assert abs(float(kept.mean()) - (0.5 * math.log(CFG.lam / 2) + HALF_LOG_2PIE)) < 0.2
    lost = h[1][:, 1]
    others = torch.cat([h[1][:, :1], h[1][:, 2:]], 1)[mask[:, 1:]]
    assert float(lost.min()) > TOP - 0.15          # maximal entropy: the noise grew to its ceiling
    assert float(lost.min()) > float(others.max()) + 0.5
    assert torch.isnan(h[:, -1, -2:]).all()         # pads are not words


def test_measure_is_deterministic_and_seeded():
    x, mask = _inputs()
    f = lambda z, m: [torch.tanh(z), torch.tanh(z).cumsum(1)]  # noqa: E731
    a = perturbation_entropy(f, x, mask, PerturbationConfig(iterations=20), seed=1)
    b = perturbation_entropy(f, x, mask, PerturbationConfig(iterations=20), seed=1)
    c = perturbation_entropy(f, x, mask, PerturbationConfig(iterations=20), seed=2)
    assert a.numpy().tobytes() == b.numpy().tobytes()
    assert not torch.equal(torch.nan_to_num(a), torch.nan_to_num(c))


def test_sentences_do_not_interact():
    """Vectorized over sentences: a sentence's entropies do not depend on its batch-mates."""
    x, mask = _inputs(b=4)
    f = lambda z, m: [torch.tanh(z) * 2, torch.tanh(z).flip(1)]  # noqa: E731
    cfg = PerturbationConfig(iterations=30)
    both = perturbation_entropy(f, x, mask, cfg, seed=3)
    torch.manual_seed(0)
    x2 = x.clone()
    x2[0] = torch.randn_like(x2[0])  # another first sentence
    other = perturbation_entropy(f, x2, mask, cfg, seed=3)
    # same noise draws for sentence 1..3, features scaled by the batch's spread: close, not equal
    assert torch.allclose(both[:, 1:][mask[1:].expand(2, -1, -1)], other[:, 1:][mask[1:].expand(2, -1, -1)], atol=0.25)


def test_gradient_measures_known_answers():
    x, mask = _inputs()

    def layers(z, m):
        out = 3 * z.clone()
        out[:, 1] = 0
        return [out]

    sal, gxi = gradient_measures(layers, x, mask, PerturbationConfig(projections=400), seed=0)
    assert torch.all(sal[0][:, 1] == 0) and torch.all(gxi[0][:, 1] == 0)
    # d(3x_i)/dx_i = 3 I_d: ||J||_F = 3 sqrt(d), ||J x_i|| = 3 ||x_i||
    keep = mask.clone()
    keep[:, 1] = False
    assert torch.allclose(sal[0][keep], torch.full_like(sal[0][keep], 3 * math.sqrt(8)), rtol=0.15)
    assert torch.allclose(gxi[0][keep], 3 * x.norm(dim=-1)[keep], rtol=0.15)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=4, max_size=30), st.integers(0, 10_000))
def test_auc_matches_pairwise_definition(scores, seed):
    rng = np.random.default_rng(seed)
    pos = rng.random(len(scores)) < 0.5
    pos[0], pos[1] = True, False
    s = np.asarray(scores)
    pairs = [(a > b) + 0.5 * (a == b) for a in s[pos] for b in s[~pos]]
    assert auc(s, pos) == pytest.approx(float(np.mean(pairs)))


def _words(gap_by_layer):
    rows = []
    for layer, gap in enumerate(gap_by_layer, start=1):
        for i in range(20):
            rel = i % 2 == 0
            rows.append({"layer": layer, "sentence": 0, "position": i, "word": "w", "relevant": rel,
                         "entropy": (0.0 if rel else gap) + 0.01 * i, "saliency": float(rel), "grad_input": 1.0})
    return pd.DataFrame(rows)


def test_layer_summary_and_claim_tables_read_planted_gaps():
    layers = []
    for model, gaps in (("transformer_pretrained", [0.1, 0.2, 0.3, 0.4]), ("lstm", [0.2, 0.2, 0.2, 0.2]),
                        ("cnn", [0.3, 0.2, 0.1, 0.0])):
        for seed in (1, 2):
            layers.append(layer_summary(_words(gaps)).assign(model=model, seed=seed, test_accuracy=0.95))
    layers = pd.concat(layers, ignore_index=True)
    tables = claim_tables(layers)
    trend = tables["gap_trend"].set_index(["model", "seed"]).y
    assert trend["transformer_pretrained", 1] == pytest.approx(0.1, abs=1e-9)
    assert trend["lstm", 1] == pytest.approx(0.0, abs=1e-9) and trend["cnn", 2] == pytest.approx(-0.1, abs=1e-9)
    g3 = tables["final_gap"]
    assert set(g3.comparison) == {"vs_lstm", "vs_cnn"} and len(g3) == 8
    assert (tables["consistency"].y <= 0).all()  # saliency is the relevance itself here: perturbation cannot beat it
    assert slope([1, 2, 3], [2, 4, 6]) == pytest.approx(2.0)


@settings(max_examples=8, deadline=None)
@given(arch=st.sampled_from(["transformer", "lstm", "cnn"]), seed=st.integers(0, 2**16),
       b=st.integers(1, 5), layers=st.integers(1, 4))
def test_shedding_copies_reads_the_same_copies(arch, seed, b, layers):
    """A network that drops each copy after its layer (`shed`) gives the perturbation measure and the
    gradient baselines what one that computes every layer for every copy gives. The last bits may
    differ where a layer's batch gets small (one or two sentences change the kernels' blocking); at
    the probe stage's 48 sentences every output hash was kept."""
    from benchmark.families.word_information.networks import build

    torch.manual_seed(seed)
    net = build(arch, 20, 8, layers, 7).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, 7, 8, generator=g)
    mask = torch.arange(7)[None, :] < torch.randint(1, 8, (b,), generator=g)[:, None]
    full = net.features(x.repeat(layers, 1, 1), mask.repeat(layers, 1))
    shed = net.features(x.repeat(layers, 1, 1), mask.repeat(layers, 1), shed=b)
    for layer in range(layers):
        assert len(shed[layer]) == (layers - layer) * b
        torch.testing.assert_close(shed[layer][:b], full[layer][layer * b:(layer + 1) * b], rtol=1e-5, atol=1e-6)
    cfg = PerturbationConfig(iterations=4, projections=2)

    def every_copy(z, m):  # no `shed` parameter: the measure computes every layer for every copy
        return net.features(z, m)

    for fn in (perturbation_entropy, gradient_measures):
        a, c = fn(net.features, x, mask, cfg, seed), fn(every_copy, x, mask, cfg, seed)
        for u, v in zip(a if isinstance(a, tuple) else (a,), c if isinstance(c, tuple) else (c,)):
            torch.testing.assert_close(u, v, rtol=1e-4, atol=1e-5, equal_nan=True)
