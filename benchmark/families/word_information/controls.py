"""The word-information family's instrument controls: the perturbation measure, the gradient
saliency baseline and the rank agreement, each shown to find a built-in answer and to find nothing
where there is none, on the suite's own trained networks (the `controls` step, stage
controls_word_information -> evidence/controls/word_information.csv).

    python -m benchmark.stages.probe word_information controls

Built from the first `controls.networks` seeds of each of the paper's models (transformer_pretrained,
lstm, cnn) and the first `controls.sentences` of the probe's sentence sample, measured with the
probe's own settings:
* relevant_only (positive): the network reads its input through the sentence's relevance mask,
  so every layer depends on the relevant words only; the instrument must rank every relevant word
  above every irrelevant one (worst layer's AUC).
* known_weights (positive): the network reads word i's embedding times a planted weight w_i drawn
  from {0, 1/4, 1/2, 1}; the instrument must recover the order of the weights (within-sentence
  Spearman, mean over layers; entropy reversed).
* ignores_input (negative): a feature that is the clean feature whatever the input; no word
  carries information, so the AUC for relevance must be 0.5 (the layer furthest from it).
* shuffled_relevance (negative): the probe's own measures of every network, scored against the
  relevance labels permuted within each sentence; the AUC must be 0.5 (the layer furthest from it).
* agreement.shuffled_words (negative): the rank agreement of each probed network's perturbation
  entropies across adjacent layers after one layer's words are permuted within each sentence
  must be 0.
Thresholds are declared here, before the controls run (benchmark.controls), with their reasons.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from benchmark import controls as C
from benchmark import replicates
from benchmark.data import sentiment_corpus as corpus
from benchmark.data.store import data_dir
from benchmark.experiments.store import load_models
from benchmark.families.word_information.config import load_word_params
from benchmark.families.word_information.measure import (PAPER_MODELS, gradient_measures, perturbation_entropy,
                                                         scale_of, within_auc, within_sentence_spearman)
from benchmark.families.word_information.probing import load_network, probe_sample
from benchmark.families.word_information.training import EXPERIMENT
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path

FAMILY = "word_information"
PERTURBATION = "perturbation entropy (guan2019)"
SALIENCY = "gradient saliency (per-layer feature gradient)"
AGREEMENT = "rank agreement (within-sentence Spearman)"
WEIGHTS = (0.0, 0.25, 0.5, 1.0)

_ALL = "finds exactly those: every relevant word ranked above every irrelevant one by an ideal instrument (AUC 1)"


def _declared(instrument: str, short: str) -> tuple[C.Control, ...]:
    return (
        C.Control(f"{short}.relevant_only", instrument, "positive",
                  "worst-layer AUC for relevance >= 0.95 on networks that read the relevant words only (an ideal "
                  "instrument: 1; 0.95 allows 5% of relevant/irrelevant pairs misordered by the optimizer's noise)",
                  "at_least", 0.95, note=_ALL),
        C.Control(f"{short}.known_weights", instrument, "positive",
                  "within-sentence Spearman with planted input weights {0, 1/4, 1/2, 1} >= 0.5 (a large correlation, "
                  "Cohen 1988; an ideal instrument: 1)", "at_least", 0.5,
                  note="recovers a ranking of known order, what the rank-agreement claim relies on"),
        C.Control(f"{short}.ignores_input", instrument, "negative",
                  "AUC for relevance within 0.5 +- 0.05 on a feature that ignores its input (no word carries "
                  "information; 0.05 = two standard errors of an AUC over ~200 words)", "within", 0.05,
                  note="finds nothing where no word matters"),
        C.Control(f"{short}.shuffled_relevance", instrument, "negative",
                  "AUC within 0.5 +- 0.05 against relevance labels permuted within each sentence (every probed "
                  "network; 0.05 = two standard errors of an AUC over ~500 words)", "within", 0.05,
                  note="finds no relevance where the labels carry none"),
    )


CONTROLS: tuple[C.Control, ...] = (
    *_declared(PERTURBATION, "perturbation"),
    *_declared(SALIENCY, "saliency"),
    C.Control("agreement.shuffled_words", AGREEMENT, "negative",
              "rank agreement across adjacent layers within 0 +- 0.1 once one layer's words are permuted within "
              "each sentence (0.1: a small correlation, Cohen 1988, the rank-agreement claim's SESOI)", "within", 0.1,
              note="finds no agreement between unrelated rankings"),
)
BY_ID = {c.id: c for c in CONTROLS}


def _ranking(values: torch.Tensor, target: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, ...]:
    """(values, targets, sentence ids) over the counted positions of one layer [B, T]."""
    sent = np.broadcast_to(np.arange(values.shape[0])[:, None], values.shape)
    return values.detach().cpu().numpy()[counted], np.asarray(target)[counted], sent[counted]


def _worst_auc(per_layer, relevant, counted, sign: float) -> float:
    return min(within_auc(sign * v, r, s) for v, r, s in (_ranking(layer, relevant, counted) for layer in per_layer))


def _furthest(per_layer, relevant, counted, sign: float) -> float:
    dev = [within_auc(sign * v, r, s) - 0.5 for v, r, s in (_ranking(layer, relevant, counted) for layer in per_layer)]
    return float(dev[int(np.argmax(np.abs(dev)))])


def _weight_agreement(per_layer, weights, counted, sign: float) -> float:
    return float(np.mean([within_sentence_spearman(sign * v, w, s)
                          for v, w, s in (_ranking(layer, weights, counted) for layer in per_layer)]))


def _tiled(t: torch.Tensor, n: int) -> torch.Tensor:
    """`t` [B, ...] for a batch of n rows that holds copies of the B sentences (or their first n)."""
    return t.repeat(n // t.shape[0], *([1] * (t.dim() - 1))) if n >= t.shape[0] else t[:n]


def model_controls(features, x: torch.Tensor, mask: torch.Tensor, scale: float, relevant: np.ndarray,
                   counted: np.ndarray, weights: np.ndarray, pc, seed: int) -> dict[str, float]:
    """One network's values for the model-based controls, both instruments: `features(x, mask)` is
    the network's layers, x its input embeddings [B, T, d]; `relevant` and `weights` [B, T] are per
    input position, `counted` marks the positions scored (the words; at paper scale the word pieces
    of words with known relevance)."""
    with torch.no_grad():
        clean = features(x, mask)
    out = {}
    for name, gate in (("relevant_only", relevant), ("known_weights", weights)):
        g = torch.from_numpy(np.asarray(gate, np.float32)).unsqueeze(-1).to(x.device)

        def gated(z, m, g=g):  # the network reads position i as g_i x_i
            return features(z * _tiled(g, z.shape[0]), m)

        h = perturbation_entropy(gated, x, mask, pc, seed, scale=scale)
        sal, _ = gradient_measures(gated, x, mask, pc, seed + 1)
        if name == "relevant_only":
            out["perturbation.relevant_only"] = _worst_auc(h, relevant, counted, -1.0)
            out["saliency.relevant_only"] = _worst_auc(sal, relevant, counted, 1.0)
        else:
            out["perturbation.known_weights"] = _weight_agreement(h, weights, counted, -1.0)
            out["saliency.known_weights"] = _weight_agreement(sal, weights, counted, 1.0)

    def constant(z, m):  # the clean features whatever the input (in the graph, with a zero gradient)
        return [_tiled(c, z.shape[0]) + 0.0 * z.sum() for c in clean]

    h = perturbation_entropy(constant, x, mask, pc, seed, scale=scale)
    sal, _ = gradient_measures(constant, x, mask, pc, seed + 1)
    out["perturbation.ignores_input"] = _furthest(h, relevant, counted, -1.0)
    out["saliency.ignores_input"] = _furthest(sal, relevant, counted, 1.0)
    return out


def planted_weights(params: dict, seed: int, counted: np.ndarray) -> np.ndarray:
    """Per position, a weight drawn from WEIGHTS by the controls' seed under the draw (0 elsewhere)."""
    rng = np.random.default_rng(replicates.sample_seed(params, seed))
    return np.where(counted, rng.choice(WEIGHTS, size=counted.shape), 0.0)


def _network_job(job) -> dict[str, float]:
    state, meta, tokens, lengths, relevant, weights, pc, seed = job
    net = load_network(state, meta)
    for p in net.parameters():
        p.requires_grad_(False)
    mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < lengths[:, None])
    with torch.no_grad():
        x = net.embed(torch.from_numpy(tokens))
    return model_controls(net.features, x, mask, scale_of(pc, net), relevant, mask.numpy(), weights, pc, seed)


def shuffled_controls(words: pd.DataFrame, params: dict, seed: int) -> dict[str, list[float]]:
    """Per probed network: the AUCs against relevance permuted within each sentence (layer furthest
    from 0.5) and the rank agreement across adjacent layers with one layer's words permuted."""
    out: dict[str, list[float]] = {"perturbation.shuffled_relevance": [], "saliency.shuffled_relevance": [],
                                   "agreement.shuffled_words": []}
    for (model, net_seed), w in words.groupby(["model", "seed"], sort=True):
        rng = np.random.default_rng(replicates.sample_seed(params, seed, int(net_seed)))
        first = w[w.layer == w.layer.min()].sort_values(["sentence", "position"])
        perm = first.groupby("sentence").relevant.transform(lambda r: rng.permutation(r.to_numpy()))
        shuffled = dict(zip(zip(first.sentence, first.position), perm.astype(bool)))
        for measure, column, sign in (("perturbation", "entropy", -1.0), ("saliency", "saliency", 1.0)):
            dev = []
            for _, g in w.groupby("layer", sort=True):
                labels = np.array([shuffled[k] for k in zip(g.sentence, g.position)])
                dev.append(within_auc(sign * g[column].to_numpy(), labels, g.sentence.to_numpy()) - 0.5)
            out[f"{measure}.shuffled_relevance"].append(float(dev[int(np.argmax(np.abs(dev)))]))
        layers = {int(k): g.sort_values(["sentence", "position"]) for k, g in w.groupby("layer", sort=True)}
        keys = sorted(layers)
        agree = []
        for a, b in zip(keys, keys[1:]):
            la, lb = layers[a], layers[b]
            permuted = lb.groupby("sentence").entropy.transform(lambda e: rng.permutation(e.to_numpy()))
            agree.append(within_sentence_spearman(la.entropy.to_numpy(), permuted.to_numpy(), la.sentence.to_numpy()))
        out["agreement.shuffled_words"].append(float(np.mean(agree)))
    return out


def control_networks(nets: dict, meta: dict, models, k: int) -> list[str]:
    """The first k seeds of each of the paper's models (in that order)."""
    return [key for m in PAPER_MODELS if m in models
            for key in sorted((key for key in nets if meta[key]["model"] == m), key=lambda key: meta[key]["seed"])[:k]]


def decide_and_write(params: dict, per_network: list[dict[str, float]], seed: int) -> list[C.ControlResult]:
    """Every declared control decided on its per-network values (the shuffled controls from the
    probe's word table) and written to evidence/controls/word_information.csv."""
    values = C.collect(per_network, {c.id: [] for c in CONTROLS})
    values.update(shuffled_controls(pd.read_csv(evidence_path(EXPERIMENT, "word_measures")), params, seed))
    return C.decide_and_write(FAMILY, CONTROLS, values)[0]


def run(params: dict) -> int:
    """Every control decided on the embedded networks and written (evidence/controls/word_information.csv;
    the `controls` step)."""
    cfg = load_word_params(params)
    cc, p = cfg.controls, cfg.probe
    t0 = time.perf_counter()
    nets, meta = load_models(models_path(EXPERIMENT))
    test = corpus.load(data_dir() / cfg.dataset, "test")
    idx = probe_sample(params, p, len(test.labels))[:cc.sentences]
    tokens, lengths, relevant = test.tokens[idx], test.lengths[idx], test.relevant[idx]
    weights = planted_weights(params, cc.seed, np.arange(tokens.shape[1])[None, :] < lengths[:, None])
    pc = p.perturbation()
    keys = control_networks(nets, meta, cfg.models, cc.networks)
    jobs = [(nets[k], meta[k], tokens, lengths, relevant, weights, pc,
             replicates.sample_seed(params, cc.seed, meta[k]["seed"])) for k in keys]
    per_net = map_ordered(_network_job, jobs, params.get("workers", 1), desc="word_information controls")
    results = decide_and_write(params, per_net, cc.seed)
    print(f"{len(results)} controls on {len(keys)} networks in {time.perf_counter() - t0:.1f} s")
    return 0
