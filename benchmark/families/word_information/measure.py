"""guan2019's perturbation measure of how much a layer keeps of each input word, gradient baselines,
and the rank agreement of a measure's word rankings across layers and models.

Perturbation (Guan et al. 2019, Sec. 3; the authors' Interpreter.py): for a sentence's word
embeddings x [T, d] and a layer's features phi, learn per-word noise scales sigma_i so that
x~_i = x_i + sigma_i * eps_i (eps ~ N(0, I_d)) keeps phi while the noise is as large as possible:

    loss = mean_entries ((phi(x~) - phi(x)) / sigma_phi)^2  -  lambda * mean_i log sigma_i

with sigma_i = scale * sigmoid(rho_i) (so `scale` is the largest noise, "the word is lost"),
sigma_phi the per-dimension spread of the clean features over the probed words, Adam on rho, one
noise draw per step. The authors' code: scale "10 * Std[word_embedding_weight]" (its default 0.5
is that for BERT), lambda 0.1, lr 0.01, 5000 iterations, rho drawn from N(0, 1), and the state of
least loss kept. `PerturbationConfig` holds them: `relative_scale` makes `noise_scale` a multiple
of the network's embedding-table SD (`scale_of`), `init` and `keep` pick the authors' start and
read-out or a start at rho = 0 and the last state. The word's entropy per embedding dimension is
that of its Gaussian: h_i = log sigma_i + log(2 pi e) / 2 nats; low = the layer keeps the word.
Every sentence and every layer is optimized at once: the batch holds one copy of each sentence per
layer, and Adam's update is elementwise, so the copies do not interact; the least-loss state is
kept per sentence and layer (the authors optimize one sentence and one layer at a time).
Copy l is read at layer l only: a feature function with a `shed` parameter (the embedded
networks') drops each copy after its layer, which saves (L-1)/2L of the work (the embedded probe's
bytes are the same; see networks.py).

Gradient baselines per layer (not the output's gradient, which is the same for every layer):
saliency_i = ||d phi_l / d x_i||_F and grad x input_i = ||(d phi_l / d x_i) x_i||, both estimated
with `projections` Gaussian projections v (E||v^T J||^2 = ||J||_F^2), exact in expectation.

Rank agreement (`rank_agreement`): how alike two word rankings of the same sentences are, the
mean over sentences of the within-sentence Spearman correlation (a sentence where either ranking
is constant counts 0: it ranks nothing); per network across adjacent layers, per seed across the
models' last layers.
"""

from __future__ import annotations

import dataclasses
import inspect
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
    relative_scale: bool = False     # noise_scale x the embedding table's SD (the authors' recommendation)
    init: str = "zeros"              # rho at the start: "zeros" (sigma = scale / 2) or "normal" (N(0, 1): the authors')
    keep: str = "last"               # read-out: the "last" state or the state of least loss ("best": the authors')

    def __post_init__(self):
        if self.init not in ("zeros", "normal") or self.keep not in ("last", "best"):
            raise ValueError(f"init {self.init!r} is zeros | normal, keep {self.keep!r} is last | best")


def scale_of(cfg: PerturbationConfig, net) -> float:
    """The largest noise sigma for `net`: noise_scale itself, or (relative_scale) noise_scale times
    the SD of the network's word-embedding table (`net.embedding_table()`), as the authors recommend."""
    if not cfg.relative_scale:
        return float(cfg.noise_scale)
    with torch.no_grad():
        return float(cfg.noise_scale * net.embedding_table().detach().float().std())


def _sheds(feature_fn: FeatureFn) -> bool:
    """Whether feature_fn takes `shed` (drops each copy after its layer; see networks.py)."""
    return "shed" in inspect.signature(feature_fn).parameters


def _copies(feature_fn: FeatureFn, x: torch.Tensor, mask: torch.Tensor, rows: int, sheds: bool) -> list[torch.Tensor]:
    """Per layer l, the features of the batch's copy l (rows l*rows to (l+1)*rows) of a batch that
    holds one copy per layer: with `sheds` (`_sheds(feature_fn)`) each layer computes only the
    copies still to be read."""
    if sheds:
        return [f[:rows] for f in feature_fn(x, mask, shed=rows)]
    feats = feature_fn(x, mask)
    return [f.reshape(len(feats), rows, *f.shape[1:])[layer] for layer, f in enumerate(feats)]


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
                         seed: int, iterations: int | None = None, scale: float | None = None) -> torch.Tensor:
    """Per-word entropy h [L, B, T] (nats per embedding dimension; NaN at pads) for every layer;
    `scale` (the largest sigma) defaults to cfg.noise_scale (see `scale_of`)."""
    iterations = cfg.iterations if iterations is None else iterations
    scale = float(cfg.noise_scale if scale is None else scale)
    x, mask = x.detach(), mask.bool()
    with torch.no_grad():
        clean = feature_fn(x, mask)
    feat_scale = feature_scale(clean, mask)
    n_layers, (b, t, d) = len(clean), x.shape
    gen = torch.Generator().manual_seed(seed)
    start = torch.randn(n_layers, b, t, generator=gen) if cfg.init == "normal" else torch.zeros(n_layers, b, t)
    rho = start.to(x.device).requires_grad_(True)
    opt = torch.optim.Adam([rho], lr=cfg.lr)
    xs, ms = x.repeat(n_layers, 1, 1), mask.repeat(n_layers, 1)
    m = mask.to(x.dtype)
    words = m.sum(1).clamp_min(1.0)  # [B]
    best_loss = torch.full((n_layers, b), math.inf, device=x.device)
    best_rho = rho.detach().clone()
    sheds = _sheds(feature_fn)
    for _ in range(iterations):
        sigma = scale * torch.sigmoid(rho)  # [L, B, T]
        eps = torch.randn(n_layers, b, t, d, generator=gen).to(x.device)  # CPU draws: same noise on any device
        noisy = xs + (sigma.unsqueeze(-1) * eps * m.unsqueeze(-1)).reshape(n_layers * b, t, d)
        feats = _copies(feature_fn, noisy, ms, b, sheds)
        losses = []
        for layer in range(n_layers):
            f = feats[layer]
            diff = _entries((f - clean[layer]) / feat_scale[layer], mask)
            recon = diff.pow(2).sum((1, 2)) / (words * f.shape[-1])
            reg = (torch.log(sigma[layer]) * m).sum(1) / words
            losses.append(recon - cfg.lam * reg)
        if cfg.keep == "best":  # the state this step evaluated, kept where its loss is the least so far
            with torch.no_grad():
                per = torch.stack(losses)
                better = per < best_loss
                best_loss = torch.where(better, per, best_loss)
                best_rho = torch.where(better.unsqueeze(-1), rho.detach(), best_rho)
        loss = x.new_zeros(())
        for term in losses:
            loss = loss + term.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        h = torch.log(scale * torch.sigmoid(best_rho if cfg.keep == "best" else rho)) + HALF_LOG_2PIE
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
    feats = _copies(feature_fn, xs, ms, k * b, _sheds(feature_fn))
    total = xs.new_zeros(())
    mk = mask.repeat(k, 1)
    for layer in range(n_layers):
        f = feats[layer]
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


def within_auc(score: np.ndarray, positive: np.ndarray, sentence: np.ndarray) -> float:
    """The AUC within sentences: the mean over sentences holding both classes of each sentence's own
    AUC, so that what differs between sentences (their length, their count of relevant words, a
    sentence-wide entropy level) cannot pass for relevance (the shuffled-relevance control showed the
    pooled AUC doing so)."""
    df = pd.DataFrame({"s": np.asarray(sentence), "v": np.asarray(score, float), "p": np.asarray(positive, bool)})
    g = df.groupby("s", sort=True)
    n_pos, n = g.p.transform("sum"), g.p.transform("size")
    both = (n_pos > 0) & (n_pos < n)
    if not both.any():
        return math.nan
    df = df[both]
    rank = df.groupby("s").v.rank()
    per = (rank * df.p).groupby(df.s).sum()
    n_pos, n = df.groupby("s").p.sum(), df.groupby("s").p.size()
    aucs = (per - n_pos * (n_pos + 1) / 2) / (n_pos * (n - n_pos))
    return float(aucs.mean())


def within_gap(value: np.ndarray, positive: np.ndarray, sentence: np.ndarray) -> float:
    """The mean over sentences holding both classes of (mean over the negatives - mean over the positives)."""
    df = pd.DataFrame({"s": np.asarray(sentence), "v": np.asarray(value, float), "p": np.asarray(positive, bool)})
    means = df.groupby(["s", "p"]).v.mean().unstack("p")
    means = means.dropna() if {True, False} <= set(means.columns) else means.iloc[:0]
    return float((means[False] - means[True]).mean()) if len(means) else math.nan


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
    """Per layer, within sentences (`within_auc`, `within_gap`): the AUC of each measure for
    relevance (entropy reversed: low entropy = kept), the entropy gap (irrelevant minus relevant
    words) and that gap over the SD of all the layer's word entropies."""
    rows = []
    for layer, g in words.groupby("layer", sort=True):
        rel, s = g.relevant.to_numpy(bool), g.sentence.to_numpy()
        h = g.entropy.to_numpy(float)
        gap = within_gap(h, rel, s)
        sd = float(h.std())
        rows.append({"layer": int(layer), "auc_perturbation": within_auc(-h, rel, s),
                     "auc_saliency": within_auc(g.saliency.to_numpy(float), rel, s),
                     "auc_grad_input": within_auc(g.grad_input.to_numpy(float), rel, s), "gap": gap,
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
    h = perturbation_entropy(net.features, x, mask, cfg, seed, scale=scale_of(cfg, net))
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


PAPER_MODELS = ("transformer_pretrained", "lstm", "cnn")  # the paper's three (BERT at paper scale)
RANKED = {"perturbation": "entropy", "saliency": "saliency"}  # measure -> word-table column


def within_sentence_spearman(a: np.ndarray, b: np.ndarray, sentence: np.ndarray) -> float:
    """Mean over sentences of the Spearman correlation between rankings a and b of the sentence's
    words (average ranks for ties); a sentence where either ranking is constant counts 0."""
    df = pd.DataFrame({"s": np.asarray(sentence), "a": np.asarray(a, float), "b": np.asarray(b, float)})
    if df[["a", "b"]].isna().any().any():
        raise ValueError("rank agreement of a ranking with NaN values")
    g = df.groupby("s", sort=True)
    centre = g.a.transform("size").add(1) / 2  # the mean of ranks 1..n (ties averaged keep it)
    da, db = df.a.groupby(df.s).rank() - centre, df.b.groupby(df.s).rank() - centre
    num = (da * db).groupby(df.s).sum()
    den = np.sqrt((da * da).groupby(df.s).sum() * (db * db).groupby(df.s).sum())
    r = np.where(den > 0, num / den.where(den > 0, 1.0), 0.0)
    return float(np.mean(r))


def _network_arrays(words: pd.DataFrame, column: str) -> dict[int, pd.Series]:
    """One network's word table -> {layer: the column indexed by (sentence, position)}."""
    return {int(layer): g.set_index(["sentence", "position"])[column].sort_index()
            for layer, g in words.groupby("layer", sort=True)}


def _agree(x: pd.Series, y: pd.Series) -> float:
    x, y = x.align(y, join="inner")
    return within_sentence_spearman(x.to_numpy(), y.to_numpy(), x.index.get_level_values(0).to_numpy())


def layer_agreement(words: pd.DataFrame, column: str) -> float:
    """One network: the mean over adjacent layer pairs of the within-sentence rank agreement."""
    arrays = _network_arrays(words, column)
    layers = sorted(arrays)
    return float(np.mean([_agree(arrays[a], arrays[b]) for a, b in zip(layers, layers[1:])]))


def rank_agreement(words: pd.DataFrame, accuracy: dict[tuple[str, int], float]) -> pd.DataFrame:
    """The rank-agreement claim's table (guan2019: explanations 'consistent across layers and
    models'): one row per stratum and seed of the paper's models.

    across_layers: per network, `layer_agreement`; averaged over the seed's networks of the paper's
        models (transformer_pretrained, lstm, cnn).
    across_models: per pair of the seed's paper models, the rank agreement of their last layers
        (each model's own last) over the same words; averaged over the pairs.
    Columns: perturbation and saliency (each measure's agreement), y = perturbation - saliency,
    test_accuracy = the least accuracy among the networks that enter the row.
    """
    words = words[words.model.isin(PAPER_MODELS)]
    rows = []
    for seed, ws in words.groupby("seed", sort=True):
        nets = {m: g for m, g in ws.groupby("model", sort=False)}
        models = [m for m in PAPER_MODELS if m in nets]
        acc = min(accuracy[(m, int(seed))] for m in models)
        layers = {k: float(np.mean([layer_agreement(nets[m], c) for m in models])) for k, c in RANKED.items()}
        rows.append({"stratum": "across_layers", "seed": int(seed), **layers, "test_accuracy": acc})
        if len(models) < 2:
            continue
        across = {}
        for k, c in RANKED.items():
            tops = {m: _network_arrays(nets[m], c) for m in models}
            tops = {m: a[max(a)] for m, a in tops.items()}
            across[k] = float(np.mean([_agree(tops[a], tops[b]) for i, a in enumerate(models) for b in models[i + 1:]]))
        rows.append({"stratum": "across_models", "seed": int(seed), **across, "test_accuracy": acc})
    out = pd.DataFrame(rows, columns=["stratum", "seed", "perturbation", "saliency", "test_accuracy"])
    out.insert(4, "y", out.perturbation - out.saliency)
    return out
