"""A synthetic sentiment corpus whose every token has a known relevance to the label (guan2019).

Grammar: a sentence of `min_len`..`max_len` words holds 1 or 3 sentiment words (positive or
negative); each may be preceded by a negation (scope: the next word only, flips its polarity) or
an intensifier (changes nothing in the label); the rest is neutral filler. The label is
sign(sum of scoped polarities), never 0 with an odd number of sentiment words, so it is a
deterministic function of the sentiment words and their negations: those tokens are relevant,
intensifiers and filler are not. Intensifiers are distractors that look like modifiers.

Splits: `train` and `test` (labelled), `unlabeled` (a larger corpus from the same grammar, for
masked-language-model pretraining). Files: data/sentiment/<split>_{tokens,lengths,labels,relevant}.npy
and vocab.json; a pure function of the params and seed (byte-stable).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from benchmark.atomic import atomic_path, write_text
from benchmark.errors import DataError

PAD, MASK = "<pad>", "<mask>"
POSITIVE = ("good", "great", "fine", "lovely", "superb", "happy", "brilliant", "pleasant")
NEGATIVE = ("bad", "awful", "poor", "boring", "dull", "sad", "terrible", "ugly")
NEGATIONS = ("not", "never")
INTENSIFIERS = ("very", "really", "so", "quite")
FILLER = ("the", "a", "movie", "film", "was", "is", "and", "it", "plot", "actor", "story", "this",
          "of", "with", "scene", "end", "music", "cast", "but", "we", "saw", "one", "today", "there")
VOCAB = (PAD, MASK) + POSITIVE + NEGATIVE + NEGATIONS + INTENSIFIERS + FILLER
INDEX = {w: i for i, w in enumerate(VOCAB)}
SPLITS = ("train", "test", "unlabeled")
_FILES = ("tokens", "lengths", "labels", "relevant")


@dataclasses.dataclass(frozen=True)
class Corpus:
    tokens: np.ndarray    # int64 [n, max_len], PAD after `lengths`
    lengths: np.ndarray   # int64 [n]
    labels: np.ndarray    # int64 [n], 1 positive, 0 negative
    relevant: np.ndarray  # bool [n, max_len]: the label depends on this token


def sentence(rng: np.random.Generator, min_len: int, max_len: int) -> tuple[list[int], int, list[bool]]:
    """One sentence: token ids, label, per-token relevance."""
    n_sent = int(rng.choice([1, 3]))
    length = int(rng.integers(max(min_len, 2 * n_sent), max_len + 1))
    # slots: each sentiment word takes its position and optionally the one before (modifier)
    words: list[int] = [INDEX[FILLER[int(rng.integers(len(FILLER)))]] for _ in range(length)]
    relevant = [False] * length
    starts = np.sort(rng.choice(np.arange(0, length, 2)[: length // 2], n_sent, replace=False))
    total = 0
    for s in starts:
        pos = int(s) + 1 if s + 1 < length else int(s)
        polarity = 1 if rng.random() < 0.5 else -1
        words[pos] = INDEX[(POSITIVE if polarity > 0 else NEGATIVE)[int(rng.integers(8))]]
        relevant[pos] = True
        if pos > s:
            mod = rng.random()
            if mod < 0.35:
                words[s] = INDEX[NEGATIONS[int(rng.integers(len(NEGATIONS)))]]
                relevant[int(s)] = True
                polarity = -polarity
            elif mod < 0.6:
                words[s] = INDEX[INTENSIFIERS[int(rng.integers(len(INTENSIFIERS)))]]
        total += polarity
    return words, int(total > 0), relevant


def generate(n: int, rng: np.random.Generator, min_len: int = 6, max_len: int = 16) -> Corpus:
    tokens = np.zeros((n, max_len), np.int64)
    relevant = np.zeros((n, max_len), bool)
    lengths, labels = np.zeros(n, np.int64), np.zeros(n, np.int64)
    for i in range(n):
        words, label, rel = sentence(rng, min_len, max_len)
        tokens[i, : len(words)], relevant[i, : len(words)] = words, rel
        lengths[i], labels[i] = len(words), label
    return Corpus(tokens, lengths, labels, relevant)


def write(directory: Path, num_train: int = 4000, num_test: int = 1000, num_unlabeled: int = 10000,
          min_len: int = 6, max_len: int = 16, seed: int = 11) -> None:
    """data/sentiment/<split>_<array>.npy + vocab.json (byte-stable)."""
    if not 6 <= min_len <= max_len:
        raise DataError(f"data.sentiment: need 6 <= min_len <= max_len, got {min_len}, {max_len}")
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in zip(SPLITS, (num_train, num_test, num_unlabeled)):
        corpus = generate(n, rng, min_len, max_len)
        for name in _FILES:
            with atomic_path(directory / f"{split}_{name}.npy") as tmp:
                with open(tmp, "wb") as fh:
                    np.save(fh, getattr(corpus, name), allow_pickle=False)
    write_text(directory / "vocab.json", json.dumps({"vocab": list(VOCAB)}) + "\n")


def load(directory: Path, split: str) -> Corpus:
    if not (directory / "vocab.json").is_file():
        raise DataError(f"{directory}: sentiment corpus missing; run `python -m benchmark.data.materialize`")
    try:
        arrays = {n: np.load(directory / f"{split}_{n}.npy", allow_pickle=False) for n in _FILES}
    except (OSError, ValueError) as exc:
        raise DataError(f"{directory}: sentiment split {split!r} unreadable ({exc}); re-materialize it") from None
    return Corpus(**arrays)


def words(tokens: np.ndarray, length: int) -> list[str]:
    return [VOCAB[int(t)] for t in tokens[:length]]
