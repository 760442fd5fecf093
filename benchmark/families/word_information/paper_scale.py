"""The paper scale of the guan2019 family, an adapter that hands SST-2 models and data to the same
measure and tables (the `networks` and `measures` steps call it when `scale: paper`): SST-2 from `paper_data.sst2` (GLUE train.tsv, dev.tsv), word relevance from
`paper_data.sst` (the Stanford Sentiment Treebank's dictionary.txt and sentiment_labels.txt), BERT
from `paper_data.bert` (fine-tuned here once per seed) or the fine-tuned directories listed in
`word_information.paper.bert_dirs` (one replicate each). Same outputs and controls as the embedded scale.
"""

from __future__ import annotations

import time

import numpy as np

from benchmark import replicates
from benchmark.data.registry import paper_path
from benchmark.devices import active
from benchmark.errors import DataError, ParamsError
from benchmark.experiments.store import load_models
from benchmark.families.word_information import paper_models as wp
from benchmark.families.word_information.config import load_word_paper_params, network_seeds
from benchmark.families.word_information.controls import control_networks, decide_and_write, model_controls, planted_weights
from benchmark.families.word_information.measure import gradient_measures, perturbation_entropy, piece_table, scale_of
from benchmark.families.word_information.probing import write_outputs
from benchmark.families.word_information.sst2 import load_phrase_sentiment, load_tsv, word_relevance
from benchmark.families.word_information.training import EXPERIMENT, network_key
from benchmark.parallel import map_ordered
from benchmark.paths import models_path
from benchmark.steps import publish_training


def _under_root(local: str, params: dict):
    return paper_path("_dir", {**params, "paper_data": {**(params.get("paper_data") or {}), "_dir": local}})


def _splits(params: dict):
    root = paper_path("sst2", params)
    return wp.split_words(load_tsv(root / "train.tsv")), wp.split_words(load_tsv(root / "dev.tsv"))


def _bert_sources(params: dict, cfg) -> list[tuple[int, object]]:
    """(replicate seed, directory) of every BERT: supplied fine-tuned directories are replicates
    1..k (no fine-tuning); else paper_data.bert, fine-tuned once per seed."""
    if cfg.bert_dirs:
        return [(i + 1, _under_root(d, params)) for i, d in enumerate(cfg.bert_dirs)]
    return [(s, paper_path("bert", params)) for s in network_seeds(params, cfg)]


def _train_job(item):
    model, seed, source, cfg, train, dev, vocab = item
    device, amp = active()
    if model == "transformer_pretrained":
        if source[1]:  # a supplied fine-tuned network: evaluated, not trained
            from benchmark.models.hf_encoder import load_classifier

            enc = load_classifier(source[0])
            enc.model.to(device)
            state = {k: v.detach().to("cpu").clone().contiguous() for k, v in enc.model.state_dict().items()}
            return state, {"train_loss": float("nan"), "train_accuracy": wp.bert_accuracy(enc, train, cfg.finetune.max_len, device),
                           "test_accuracy": wp.bert_accuracy(enc, dev, cfg.finetune.max_len, device)}
        return wp.finetune_bert(source[0], seed, cfg.finetune, train, dev, device, amp)
    return wp.train_small(model, seed, cfg.train, vocab, train, dev, device, amp)


def train(params: dict) -> int:
    cfg = load_word_paper_params(params)
    train_set, dev = _splits(params)
    vocab = wp.build_vocab(train_set)
    jobs = []
    for model in cfg.models:
        if model == "transformer_pretrained":
            supplied = bool(cfg.bert_dirs)
            jobs += [(model, s, (str(d), supplied)) for s, d in _bert_sources(params, cfg)]
        else:
            jobs += [(model, s, None) for s in network_seeds(params, cfg)]
    t0 = time.perf_counter()
    results = map_ordered(_train_job, [(m, s, src, cfg, train_set, dev, vocab) for m, s, src in jobs],
                          params.get("workers", 1), desc="word_information train (paper)")
    nets, meta, rows = {}, {}, []
    for (model, seed, src), (state, metrics) in zip(jobs, results):
        key = network_key(model, seed)
        nets[key] = state
        meta[key] = {"model": model, "arch": "bert" if model == "transformer_pretrained" else model, "seed": seed,
                     "source": src[0] if src else "", "vocab_size": len(vocab)}
        rows.append({"model": model, "seed": seed, **{k: v for k, v in metrics.items() if k != "train_seconds"}})
    publish_training(EXPERIMENT, nets, meta, rows, ("model", "seed"), params,
                     {**cfg.model_dump(exclude={"probe"}), "seed_offset": replicates.offset(params)})
    for r in rows:
        print(f"{r['model']:>22} seed {r['seed']}: SST-2 dev accuracy {r['test_accuracy']:.3f}")
    print(f"trained {len(rows)} networks in {time.perf_counter() - t0:.1f} s (paper scale)")
    return 0


def _network_inputs(model, state, meta, cfg, sents, vocab):
    """A saved SST-2 network on the active device, frozen, and its input for the sentences:
    (network, embeddings x, mask, word index of each input position or -1)."""
    import torch

    device, _ = active()
    if model == "transformer_pretrained":
        from benchmark.models.hf_encoder import load_classifier

        net = load_classifier(meta["bert_dir"], state)
        ids, mask, piece_word = net.tokenize_words([list(w) for w in sents.words], cfg.finetune.max_len)
        net.model.to(device).eval()
        weights = net.model.parameters()
    else:
        net = wp.build(model, len(vocab), cfg.train.width, cfg.train.layers, 1)
        net.load_state_dict(state)
        tokens, lengths = wp.encode(sents, vocab)
        ids = torch.from_numpy(tokens)
        mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < lengths[:, None])
        piece_word = torch.where(mask, torch.arange(tokens.shape[1])[None, :], -1)
        net.to(device).eval()
        weights = net.parameters()
    for w in weights:
        w.requires_grad_(False)
    ids, mask = ids.to(device), mask.to(device)
    with torch.no_grad():
        x = net.embed(ids)
    return net, x, mask, piece_word.numpy()


def _probe_job(item):
    """One network's word table: every measure for every word of the probed dev sentences."""
    model, state, meta, cfg, sents, relevant, vocab, pc, seed = item
    net, x, mask, piece_word = _network_inputs(model, state, meta, cfg, sents, vocab)
    h = perturbation_entropy(net.features, x, mask, pc, seed, scale=scale_of(pc, net))
    sal, gxi = gradient_measures(net.features, x, mask, pc, seed + 1)
    return piece_table(h, sal, gxi, piece_word, [list(w) for w in sents.words], relevant)


def _controls_job(item):
    """One network's model-based control values (benchmark.families.word_information.controls),
    per word piece of the words with known relevance."""
    model, state, meta, cfg, sents, relevant, vocab, pc, seed, params, weight_seed = item
    net, x, mask, piece_word = _network_inputs(model, state, meta, cfg, sents, vocab)
    rel = np.array([[bool(relevant[b][w]) if w >= 0 and relevant[b][w] is not None else False for w in row]
                    for b, row in enumerate(piece_word)])
    counted = np.array([[w >= 0 and relevant[b][w] is not None for w in row] for b, row in enumerate(piece_word)])
    weights = planted_weights(params, weight_seed, counted)
    return model_controls(net.features, x, mask, scale_of(pc, net), rel, counted, weights, pc, seed)


def _sample(params: dict, p, dev) -> np.ndarray:
    """The probed dev sentences (sorted indices), drawn by the probe's seed under the draw's offset."""
    if len(dev.labels) < p.sentences:
        raise ParamsError(params.get("_path", "params.yaml"), "word_information.paper.probe.sentences",
                          f"{p.sentences} exceeds the {len(dev.labels)} sentences of {paper_path('sst2', params) / 'dev.tsv'}")
    rng = np.random.default_rng(replicates.sample_seed(params, p.seed))
    return np.sort(rng.choice(len(dev.labels), p.sentences, replace=False))


def _setup(params: dict):
    """What the probe and the controls share: settings, networks, the probed sentences, their
    word relevance, the vocabulary, and one (model, state, meta) per network in report order."""
    cfg = load_word_paper_params(params)
    p = cfg.probe
    nets, meta = load_models(models_path(EXPERIMENT))
    train_set, dev = _splits(params)
    idx = _sample(params, p, dev)
    sents = wp.Sentences(tuple(dev.words[i] for i in idx), dev.labels[idx])
    sentiment = load_phrase_sentiment(paper_path("sst", params))
    relevant = [word_relevance(list(w), sentiment, cfg.relevance.low, cfg.relevance.high) for w in sents.words]
    known = [r for s in relevant for r in s if r is not None]
    if not any(known) or all(known):
        raise DataError(f"{paper_path('sst', params)}: the {p.sentences} probed sentences need both relevant and "
                        f"irrelevant words (band ({cfg.relevance.low}, {cfg.relevance.high}]); found {sum(known)} "
                        f"relevant of {len(known)} annotated")
    vocab = wp.build_vocab(train_set)
    order = {m: i for i, m in enumerate(cfg.models)}
    keys = sorted((k for k in nets if meta[k]["model"] in order), key=lambda k: (order[meta[k]["model"]], meta[k]["seed"]))
    entries = {}
    for k in keys:
        m = dict(meta[k])
        if m["model"] == "transformer_pretrained":
            m["bert_dir"] = m["source"] or str(paper_path("bert", params))
        elif m["vocab_size"] != len(vocab):
            raise DataError(f"{models_path(EXPERIMENT)}: network {k} was trained with {m['vocab_size']} words, "
                            f"SST-2 train.tsv now gives {len(vocab)}; re-run train_word_information")
        entries[k] = (m["model"], nets[k], m)
    return cfg, meta, sents, relevant, known, vocab, entries


def probe(params: dict) -> int:
    t0 = time.perf_counter()
    cfg, meta, sents, relevant, known, vocab, entries = _setup(params)
    p, pc = cfg.probe, cfg.probe.perturbation()
    jobs = [(model, state, m, cfg, sents, relevant, vocab, pc, replicates.sample_seed(params, p.seed, m["seed"]))
            for model, state, m in entries.values()]
    tables = map_ordered(_probe_job, jobs, params.get("workers", 1), desc="word_information probe (paper)")
    intro = (f"SST-2 (GLUE), {p.sentences} dev sentences drawn by the probe's seed; a word is relevant when its own "
             f"Stanford Sentiment Treebank sentiment lies outside ({cfg.relevance.low}, {cfg.relevance.high}] (the "
             f"SST-5 neutral class), irrelevant inside it, left out when the treebank has no entry for it "
             f"({len(known)} annotated words, {sum(known)} relevant). BERT (transformer_pretrained) measured per word "
             "piece and averaged over each word's pieces. ")
    layers = write_outputs(list(entries), meta, tables, p.model_dump(), intro=intro)
    print(layers.groupby(["model", "layer"]).mean(numeric_only=True).drop(columns="seed").round(3).to_string())
    print(f"probed {len(entries)} networks in {time.perf_counter() - t0:.1f} s (paper scale)")
    return 0


def controls(params: dict) -> int:
    """The family's controls on the SST-2 networks (the first controls.networks seeds of each model,
    the first controls.sentences probed sentences)."""
    t0 = time.perf_counter()
    cfg, meta, sents, relevant, known, vocab, entries = _setup(params)
    cc, pc = cfg.controls, cfg.probe.perturbation()
    keys = control_networks({k: e[1] for k, e in entries.items()}, meta, cfg.models, cc.networks)
    few = wp.Sentences(sents.words[:cc.sentences], sents.labels[:cc.sentences])
    jobs = [(*entries[k], cfg, few, relevant[:cc.sentences], vocab, pc,
             replicates.sample_seed(params, cc.seed, meta[k]["seed"]), params, cc.seed) for k in keys]
    per_net = map_ordered(_controls_job, jobs, params.get("workers", 1), desc="word_information controls (paper)")
    results = decide_and_write(params, per_net, cc.seed)
    print(f"{len(results)} controls on {len(keys)} networks in {time.perf_counter() - t0:.1f} s (paper scale)")
    return 0
