"""guan2019 at paper scale: BERT fine-tuned on SST-2 once per seed (or fine-tuned directories you
supply), and the LSTM / CNN comparison models trained on SST-2 by seed; the word-level relevance
comes from the Stanford Sentiment Treebank's own phrase sentiments (the family's sst2 module).

Seeds fix everything a network draws: BERT's classifier-head init, dropout masks and data order;
the small models' init and data order. Training runs on the paper-scale device (benchmark.devices:
deterministic flags, bf16 autocast in training passes only when `amp`); every accuracy is measured
in float32, eval mode, in mini-batches. Epochs obey `paper_max_epochs` (the schedule stays the
paper's, as in benchmark.experiments.paper_train).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
from torch import nn

from benchmark.determinism import seed_everything
from benchmark.devices import max_epochs, set_deterministic, training_autocast
from benchmark.families.word_information.networks import build
from benchmark.families.word_information.sst2 import Sst2
from benchmark.parallel import progress

PAD, UNK = "<pad>", "<unk>"
EVAL_BATCH = 256
WARMUP = 0.1  # BERT fine-tuning: linear warm-up over the first 10% of the steps, then linear decay


@dataclasses.dataclass(frozen=True)
class Sentences:
    words: tuple[tuple[str, ...], ...]  # whitespace-split, as GLUE's SST-2 is tokenized
    labels: np.ndarray                 # int64 [n]


def split_words(data: Sst2) -> Sentences:
    return Sentences(tuple(tuple(s.split()) for s in data.sentences), np.asarray(data.labels, dtype=np.int64))


def build_vocab(train: Sentences) -> tuple[str, ...]:
    """Every training word (sorted: the same vocabulary for every seed), after <pad> and <unk>."""
    return (PAD, UNK) + tuple(sorted({w for s in train.words for w in s}))


def encode(sents: Sentences, vocab: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(tokens int64 [n, longest], lengths int64 [n]); words outside the vocabulary -> <unk>."""
    index = {w: i for i, w in enumerate(vocab)}
    lengths = np.array([max(1, len(s)) for s in sents.words], dtype=np.int64)
    tokens = np.zeros((len(sents.words), int(lengths.max(initial=1))), dtype=np.int64)
    for i, s in enumerate(sents.words):
        tokens[i, :len(s)] = [index.get(w, 1) for w in s]
        if not s:
            tokens[i, 0] = 1
    return tokens, lengths


def _mask(lengths: torch.Tensor, width: int) -> torch.Tensor:
    return torch.arange(width)[None, :] < lengths[:, None]


@torch.no_grad()
def small_accuracy(net, tokens: np.ndarray, lengths: np.ndarray, labels: np.ndarray, device) -> float:
    net.eval()
    correct = 0
    for s in range(0, len(labels), EVAL_BATCH):
        ln = torch.from_numpy(lengths[s:s + EVAL_BATCH])
        t = torch.from_numpy(tokens[s:s + EVAL_BATCH, :int(ln.max())])
        pred = net(t.to(device), _mask(ln, t.shape[1]).to(device)).float().argmax(1).cpu().numpy()
        correct += int((pred == labels[s:s + EVAL_BATCH]).sum())
    return correct / max(1, len(labels))


def train_small(model: str, seed: int, cfg, vocab: tuple[str, ...], train: Sentences, dev: Sentences,
                device, amp: bool = False) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """The LSTM or CNN (the family's networks, randomly initialized embeddings) on
    SST-2: Adam, cross-entropy, mini-batches padded to their longest sentence."""
    device = torch.device(device)
    seed_everything(seed)
    set_deterministic(device)
    net = build(model, len(vocab), cfg.width, cfg.layers, 1).to(device)
    tokens, lengths = encode(train, vocab)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    loss, t0 = torch.tensor(float("nan")), time.perf_counter()
    for _ in progress(range(max_epochs(cfg.epochs)), desc="epochs"):
        net.train()
        order = torch.randperm(len(lengths), generator=gen).numpy()
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            ln = torch.from_numpy(lengths[idx])
            t = torch.from_numpy(tokens[idx, :int(ln.max())])
            y = torch.from_numpy(train.labels[idx]).to(device)
            with training_autocast(device, amp):
                logits = net(t.to(device), _mask(ln, t.shape[1]).to(device))
            loss = nn.functional.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    dev_tokens, dev_lengths = encode(dev, vocab)
    metrics = {"train_loss": loss.item(), "train_accuracy": small_accuracy(net, tokens, lengths, train.labels, device),
               "test_accuracy": small_accuracy(net, dev_tokens, dev_lengths, dev.labels, device),
               "train_seconds": time.perf_counter() - t0}
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in net.state_dict().items()}, metrics


@torch.no_grad()
def bert_accuracy(enc, sents: Sentences, max_len: int, device) -> float:
    enc.model.eval()
    correct = 0
    for s in range(0, len(sents.labels), EVAL_BATCH):
        ids, mask = enc.tokenize([" ".join(w) for w in sents.words[s:s + EVAL_BATCH]], max_len)
        pred = enc.logits(ids.to(device), mask.to(device)).float().argmax(1).cpu().numpy()
        correct += int((pred == sents.labels[s:s + EVAL_BATCH]).sum())
    return correct / max(1, len(sents.labels))


def finetune_bert(bert_dir, seed: int, cfg, train: Sentences, dev: Sentences, device,
                  amp: bool = False) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
    """BERT from `bert_dir` with a fresh two-class head, fine-tuned on SST-2 (AdamW, weight decay
    0.01, linear warm-up and decay: the standard BERT recipe, Devlin et al. 2019)."""
    from benchmark.models.hf_encoder import load_classifier

    device = torch.device(device)
    seed_everything(seed)  # the head's init and the dropout masks come from torch's global generator
    set_deterministic(device)
    enc = load_classifier(bert_dir)
    enc.model.to(device)
    ids, mask = enc.tokenize([" ".join(w) for w in train.words], cfg.max_len)
    labels = torch.from_numpy(train.labels)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(enc.model.parameters(), lr=cfg.lr, weight_decay=0.01)
    per_epoch = -(-len(labels) // cfg.batch_size)
    total, warm = cfg.epochs * per_epoch, max(1, int(WARMUP * cfg.epochs * per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda k: (k + 1) / warm if k < warm else max(0.0, (total - k) / max(1, total - warm)))
    loss, t0 = torch.tensor(float("nan")), time.perf_counter()
    for _ in progress(range(max_epochs(cfg.epochs)), desc="epochs"):
        enc.model.train()
        order = torch.randperm(len(labels), generator=gen)
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s:s + cfg.batch_size]
            width = int(mask[idx].sum(1).max())
            with training_autocast(device, amp):
                logits = enc.logits(ids[idx, :width].to(device), mask[idx, :width].to(device))
            loss = nn.functional.cross_entropy(logits.float(), labels[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    metrics = {"train_loss": loss.item(), "train_accuracy": bert_accuracy(enc, train, cfg.max_len, device),
               "test_accuracy": bert_accuracy(enc, dev, cfg.max_len, device),
               "train_seconds": time.perf_counter() - t0}
    return {k: v.detach().to("cpu").clone().contiguous() for k, v in enc.model.state_dict().items()}, metrics
