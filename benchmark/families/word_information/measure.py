"""guan2019's perturbation measure of how much a layer keeps of each input word, and gradient baselines.

Perturbation (Guan et al. 2019, Sec. 3): for a sentence's word embeddings x [T, d] and a layer's
features phi, learn per-word noise scales sigma_i so that x~_i = x_i + sigma_i * eps_i
(eps ~ N(0, I_d)) keeps phi while the noise is as large as possible:

    loss = mean_entries ((phi(x~) - phi(x)) / sigma_phi)^2  -  lambda * mean_i log sigma_i

with sigma_i = noise_scale * sigmoid(rho_i) (so noise_scale is the largest noise, "the word is
lost"), sigma_phi the per-dimension spread of the clean features over the probed words, Adam on
rho, one noise draw per step (the authors' defaults: noise_scale 0.5, lambda 0.1, lr 0.01, 5000
iterations; fewer here, shown converged in a pilot). The word's entropy per embedding dimension is
that of its Gaussian: h_i = log sigma_i + log(2 pi e) / 2 nats; low = the layer keeps the word.
Every sentence and every layer is optimized at once: the batch holds one copy of each sentence per
layer, and Adam's update is elementwise, so the copies do not interact.

Gradient baselines per layer (not the output's gradient, which is the same for every layer):
saliency_i = ||d phi_l / d x_i||_F and grad x input_i = ||(d phi_l / d x_i) x_i||, both estimated
with `projections` Gaussian projections v (E||v^T J||^2 = ||J||_F^2), exact in expectation.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
import pandas as pd
import torch

FeatureFn = Callable[[torch.Tensor, torch.Tensor], list[torch.Tensor]]
HALF_LOG_2PIE = 0.5 * math.log(2 * math.pi * math.e)


@dataclasses.dataclass(frozen=True)
class PerturbationConfig:
    noise_scale: float = 0.5
    lam: float = 0.1
    lr: float = 0.01
    iterations: int = 5000
    projections: int = 8


def _entries(f: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Features [n, T, D] with pad positions zeroed (the measure reads the sentence's words only)."""
    return f * mask.unsqueeze(-1).to(f.dtype)


def feature_scale(feats: list[torch.Tensor], mask: torch.Tensor) -> list[torch.Tensor]:
    """Per layer, the per-dimension standard deviation of the clean features over real words."""
    out = []
    for f in feats:
        flat = f[mask]
        out.append(flat.std(0, unbiased=False).clamp_min(1e-6))
    return out


def perturbation_entropy(feature_fn: FeatureFn, x: torch.Tensor, mask: torch.Tensor, cfg: PerturbationConfig,
                         seed: int, iterations: int | None = None) -> torch.Tensor:
    """Per-word entropy h [L, B, T] (nats per embedding dimension; NaN at pads) for every layer."""
    iterations = cfg.iterations if iterations is None else iterations
    x, mask = x.detach(), mask.bool()
    with torch.no_grad():
        clean = feature_fn(x, mask)
    scale = feature_scale(clean, mask)
    n_layers, (b, t, d) = len(clean), x.shape
    gen = torch.Generator().manual_seed(seed)
    rho = torch.zeros(n_layers, b, t, requires_grad=True, device=x.device)
    opt = torch.optim.Adam([rho], lr=cfg.lr)
    xs, ms = x.repeat(n_layers, 1, 1), mask.repeat(n_layers, 1)
    m = mask.to(x.dtype)
    words = m.sum(1).clamp_min(1.0)  # [B]
    for _ in range(iterations):
        sigma = cfg.noise_scale * torch.sigmoid(rho)  # [L, B, T]
        eps = torch.randn(n_layers, b, t, d, generator=gen).to(x.device)  # CPU draws: same noise on any device
        noisy = xs + (sigma.unsqueeze(-1) * eps * m.unsqueeze(-1)).reshape(n_layers * b, t, d)
        feats = feature_fn(noisy, ms)
        loss = x.new_zeros(())
        for layer in range(n_layers):
            f = feats[layer].reshape(n_layers, b, *feats[layer].shape[1:])[layer]
            diff = _entries((f - clean[layer]) / scale[layer], mask)
            recon = diff.pow(2).sum((1, 2)) / (words * f.shape[-1])
            reg = (torch.log(sigma[layer]) * m).sum(1) / words
            loss = loss + (recon - cfg.lam * reg).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        h = torch.log(cfg.noise_scale * torch.sigmoid(rho)) + HALF_LOG_2PIE
    return h.masked_fill(~mask.unsqueeze(0), float("nan"))


def gradient_measures(feature_fn: FeatureFn, x: torch.Tensor, mask: torch.Tensor, cfg: PerturbationConfig,
                      seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-layer gradient saliency and gradient x input, each [L, B, T] (NaN at pads)."""
    mask = mask.bool()
    with torch.no_grad():
        n_layers = len(feature_fn(x[:1], mask[:1]))
    k, (b, t, d) = cfg.projections, x.shape
    gen = torch.Generator().manual_seed(seed)
    xs = x.detach().repeat(n_layers * k, 1, 1).requires_grad_(True)
    ms = mask.repeat(n_layers * k, 1)
    feats = feature_fn(xs, ms)
    total = xs.new_zeros(())
    mk = mask.repeat(k, 1)
    for layer in range(n_layers):
        f = feats[layer].reshape(n_layers, k * b, *feats[layer].shape[1:])[layer]
        total = total + (_entries(f, mk) * torch.randn(f.shape, generator=gen).to(f.device)).sum()
    (grad,) = torch.autograd.grad(total, xs)
    grad = grad.reshape(n_layers, k, b, t, d)
    saliency = grad.pow(2).sum(-1).mean(1).sqrt()
    gxi = (grad * x.detach()).sum(-1).pow(2).mean(1).sqrt()
    pad = ~mask.unsqueeze(0)
    return saliency.masked_fill(pad, float("nan")), gxi.masked_fill(pad, float("nan"))


def auc(score: np.ndarray, positive: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half (Mann-Whitney)."""
    score, positive = np.asarray(score, float), np.asarray(positive, bool)
    pos, neg = score[positive], score[~positive]
    if len(pos) == 0 or len(neg) == 0:
        return math.nan
    ranks = pd.Series(np.concatenate([pos, neg])).rank().to_numpy()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def word_table(h: torch.Tensor, sal: torch.Tensor, gxi: torch.Tensor, tokens: np.ndarray, lengths: np.ndarray,
               relevant: np.ndarray, vocab: tuple[str, ...]) -> pd.DataFrame:
    """One row per (layer, sentence, word): entropy, saliency, grad x input, relevance."""
    rows = []
    for layer in range(h.shape[0]):
        for s in range(h.shape[1]):
            for i in range(int(lengths[s])):
                rows.append((layer + 1, s, i, vocab[int(tokens[s, i])], bool(relevant[s, i]),
                             float(h[layer, s, i]), float(sal[layer, s, i]), float(gxi[layer, s, i])))
    return pd.DataFrame(rows, columns=["layer", "sentence", "position", "word", "relevant", "entropy", "saliency",
                                       "grad_input"])


def piece_table(h: torch.Tensor, sal: torch.Tensor, gxi: torch.Tensor, piece_word: np.ndarray,
                words: list[list[str]], relevant: list[list[bool | None]]) -> pd.DataFrame:
    """The word table when a word may span several input positions (BERT's word pieces) and some
    words have no known relevance: each measure averaged over the word's positions; positions of
    no word (piece_word -1: [CLS], [SEP], pads) and words of unknown relevance (None) left out."""
    h, sal, gxi = (v.detach().cpu().numpy() for v in (h, sal, gxi))
    s_idx, t_idx = np.nonzero(piece_word >= 0)
    w_idx = piece_word[s_idx, t_idx]
    frames = []
    for layer in range(h.shape[0]):
        frames.append(pd.DataFrame({"layer": layer + 1, "sentence": s_idx, "position": w_idx,
                                    "entropy": h[layer, s_idx, t_idx], "saliency": sal[layer, s_idx, t_idx],
                                    "grad_input": gxi[layer, s_idx, t_idx]}))
    g = pd.concat(frames).groupby(["layer", "sentence", "position"], sort=True).mean().reset_index()
    g.insert(3, "word", [words[s][p] for s, p in zip(g.sentence, g.position)])
    rel = [relevant[s][p] for s, p in zip(g.sentence, g.position)]
    g.insert(4, "relevant", rel)
    g = g[[r is not None for r in rel]].reset_index(drop=True)
    g["relevant"] = g.relevant.astype(bool)
    return g


def layer_summary(words: pd.DataFrame) -> pd.DataFrame:
    """Per layer: AUC of each measure for relevance (entropy reversed: low entropy = kept), the
    entropy gap (mean over irrelevant minus relevant words) and that gap over the entropy's SD."""
    rows = []
    for layer, g in words.groupby("layer", sort=True):
        rel = g.relevant.to_numpy(bool)
        h = g.entropy.to_numpy(float)
        gap = float(h[~rel].mean() - h[rel].mean())
        sd = float(h.std())
        rows.append({"layer": int(layer), "auc_perturbation": auc(-h, rel), "auc_saliency": auc(g.saliency, rel),
                     "auc_grad_input": auc(g.grad_input, rel), "gap": gap,
                     "gap_norm": gap / sd if sd > 0 else math.nan})
    return pd.DataFrame(rows)


def slope(x: np.ndarray, y: np.ndarray) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc ** 2).sum())


def probe_network(net, tokens: np.ndarray, lengths: np.ndarray, relevant: np.ndarray, vocab: tuple[str, ...],
                  cfg: PerturbationConfig, seed: int) -> pd.DataFrame:
    """Every measure for every word of the probed sentences at every layer of one network."""
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    t = torch.from_numpy(tokens)
    mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < lengths[:, None])
    with torch.no_grad():
        x = net.embed(t)
    h = perturbation_entropy(net.features, x, mask, cfg, seed)
    sal, gxi = gradient_measures(net.features, x, mask, cfg, seed + 1)
    return word_table(h, sal, gxi, tokens, lengths, relevant, vocab)


def claim_tables(layers: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One row per network (G1, G2) or per comparison and network (G3), from `layer_measures`.

    consistency (G1): y = the smallest, over layers, of AUC(perturbation) - AUC(gradient saliency):
        positive when the measure beats the gradient in every layer of that network (paired within it).
    gap_trend (G2): y = OLS slope of the entropy gap (irrelevant - relevant) over layer index.
    final_gap (G3): the final layer's normalized gap, rows of the pretrained transformer repeated in
        each comparison (vs_lstm, vs_cnn) beside the other model's rows.
    """
    rows1, rows2 = [], []
    for (model, seed), g in layers.groupby(["model", "seed"], sort=False):
        g = g.sort_values("layer")
        diff = g.auc_perturbation - g.auc_saliency
        rows1.append({"model": model, "seed": seed, "y": float(diff.min()),
                      "worst_layer": int(g.layer.iloc[int(np.argmin(diff.to_numpy()))]),
                      "test_accuracy": float(g.test_accuracy.iloc[0])})
        rows2.append({"model": model, "seed": seed, "y": slope(g.layer, g.gap),
                      "test_accuracy": float(g.test_accuracy.iloc[0])})
    last = layers[layers.layer == layers.groupby(["model", "seed"]).layer.transform("max")]  # each model's own last
    rows3 = []
    for other in ("lstm", "cnn"):
        for r in last[last.model.isin(["transformer_pretrained", other])].itertuples():
            rows3.append({"comparison": f"vs_{other}", "model": r.model, "seed": r.seed, "y": float(r.gap_norm),
                          "test_accuracy": float(r.test_accuracy)})
    return {"consistency": pd.DataFrame(rows1), "gap_trend": pd.DataFrame(rows2), "final_gap": pd.DataFrame(rows3)}
