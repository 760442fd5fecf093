"""Training the guan2019 family's networks, one per (model, seed), deterministically: the `networks`
step of the family (stage train_word_information).

    python -m benchmark.stages.train word_information networks
        -> models/word_information.safetensors, evidence/word_information/training.csv

Models: `transformer_pretrained` (masked-language-model pretraining on the unlabeled corpus, then
fine-tuning: the embedded stand-in for BERT), `transformer_scratch` (the same network and seed
without pretraining, so pretraining can be told from architecture), `lstm`, `cnn`. A network
trains in one thread from `seed` alone (init, masking and data order), so the same seed gives the
same bytes whatever the worker count; the two transformers of one seed share init and data order.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from torch import nn

from benchmark import replicates
from benchmark.data import sentiment_corpus
from benchmark.data.sentiment_corpus import INDEX, MASK, VOCAB, Corpus
from benchmark.data.store import data_dir
from benchmark.determinism import seed_everything
from benchmark.families.word_information.config import load_word_params, network_seeds
from benchmark.families.word_information.networks import build
from benchmark.parallel import map_ordered, progress
from benchmark.steps import publish_training

MODELS = ("transformer_pretrained", "transformer_scratch", "lstm", "cnn")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    width: int
    layers: int
    epochs: int
    lr: float
    batch_size: int
    pretrain_epochs: int
    mask_prob: float


def arch_of(model: str) -> str:
    return "transformer" if model.startswith("transformer") else model


def network(model: str, cfg: TrainConfig, max_len: int):
    return build(arch_of(model), len(VOCAB), cfg.width, cfg.layers, max_len)


def _pretrain(net, cfg: TrainConfig, corpus: Corpus, rng: np.random.Generator) -> float:
    """Masked-language modelling: mask_prob of the words replaced by <mask>, predicted back."""
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    tokens = torch.from_numpy(corpus.tokens)
    mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < corpus.lengths[:, None])
    loss = torch.tensor(float("nan"))
    for _ in range(cfg.pretrain_epochs):
        order = torch.from_numpy(rng.permutation(len(tokens)))
        for i in range(0, len(tokens), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            t, m = tokens[idx], mask[idx]
            hide = torch.from_numpy(rng.random(t.shape) < cfg.mask_prob) & m
            if not hide.any():
                continue
            x = net.embed(t.masked_fill(hide, INDEX[MASK]))
            logits = net.mlm(net.features(x, m)[-1])
            loss = nn.functional.cross_entropy(logits[hide], t[hide])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return loss.item()


def accuracy(net, corpus: Corpus) -> float:
    with torch.no_grad():
        tokens = torch.from_numpy(corpus.tokens)
        mask = torch.from_numpy(np.arange(tokens.shape[1])[None, :] < corpus.lengths[:, None])
        pred = net(tokens, mask).argmax(1).numpy()
    return float((pred == corpus.labels).mean())


def train_one(model: str, seed: int, cfg: TrainConfig, train: Corpus, test: Corpus,
              unlabeled: Corpus | None) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    rng = seed_everything(seed)
    max_len = train.tokens.shape[1]
    net = network(model, cfg, max_len)
    t0 = time.perf_counter()
    metrics = {"mlm_loss": float("nan")}
    if model == "transformer_pretrained":
        if unlabeled is None:
            raise ValueError("transformer_pretrained needs the unlabeled corpus")
        net.train()
        metrics["mlm_loss"] = _pretrain(net, cfg, unlabeled, rng)
    rng = np.random.default_rng([seed, 1])  # same data order for both transformers of a seed
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    tokens, labels = torch.from_numpy(train.tokens), torch.from_numpy(train.labels)
    mask = torch.from_numpy(np.arange(max_len)[None, :] < train.lengths[:, None])
    net.train()
    loss = torch.tensor(float("nan"))
    for _ in progress(range(cfg.epochs), desc="epochs"):
        order = torch.from_numpy(rng.permutation(len(tokens)))
        for i in range(0, len(tokens), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            loss = nn.functional.cross_entropy(net(tokens[idx], mask[idx]), labels[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    metrics.update(train_loss=loss.item(), train_accuracy=accuracy(net, train), test_accuracy=accuracy(net, test),
                   train_seconds=time.perf_counter() - t0)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}, metrics


def _job(args):
    return train_one(*args)


def train_all(jobs: list[tuple[str, int]], cfg: TrainConfig, train: Corpus, test: Corpus, unlabeled: Corpus,
              workers: int = 1) -> list[tuple[dict[str, torch.Tensor], dict[str, float]]]:
    """One network per (model, seed), each in its own single-threaded process when workers > 1."""
    return map_ordered(_job, [(m, s, cfg, train, test, unlabeled if m == "transformer_pretrained" else None)
                              for m, s in jobs], workers, desc="word_information train")


EXPERIMENT = "word_information"


def network_key(model: str, seed: int) -> str:
    """The network's name in the model store and the evidence tables ('lstm,seed=3')."""
    return replicates.name(("seed", seed), head=model)


def train(params: dict) -> int:
    """Every (model, seed) of the embedded scale trained and published (the `networks` step)."""
    cfg = load_word_params(params)
    root = data_dir() / cfg.dataset
    train, test, unlabeled = (sentiment_corpus.load(root, s) for s in sentiment_corpus.SPLITS)
    tc = TrainConfig(**cfg.train.model_dump())
    jobs = [(m, s) for m in cfg.models for s in network_seeds(params, cfg)]
    t0 = time.perf_counter()
    results = train_all(jobs, tc, train, test, unlabeled, params.get("workers", 1))
    nets, meta, rows = {}, {}, []
    for (model, seed), (state, metrics) in zip(jobs, results):
        key = network_key(model, seed)
        nets[key] = state
        meta[key] = {"model": model, "arch": arch_of(model), "seed": seed, "max_len": int(train.tokens.shape[1]),
                     **cfg.train.model_dump()}
        rows.append({"model": model, "seed": seed, **{k: v for k, v in metrics.items() if k != "train_seconds"}})
    publish_training(EXPERIMENT, nets, meta, rows, ("model", "seed"), params,
                     {**cfg.train.model_dump(), "seed_offset": replicates.offset(params)})
    for r in rows:
        print(f"{r['model']:>22} seed {r['seed']}: test accuracy {r['test_accuracy']:.3f}")
    print(f"trained {len(rows)} networks in {time.perf_counter() - t0:.1f} s")
    return 0
