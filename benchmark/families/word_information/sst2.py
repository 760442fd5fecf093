"""SST-2 (GLUE) read from its local TSV, and the Stanford Sentiment Treebank phrase sentiments that
give its words a relevance (paper scale of guan2019); never downloaded.

The GLUE file has a header line `sentence<TAB>label` and one sentence per line with label 0/1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from benchmark.errors import DataError


@dataclasses.dataclass(frozen=True)
class Sst2:
    sentences: tuple[str, ...]
    labels: tuple[int, ...]


def load_tsv(path: Path) -> Sst2:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: SST-2 TSV not found (the GLUE SST-2 train.tsv / dev.tsv, supplied locally)")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise DataError(f"{path}: empty file, expected a header `sentence\\tlabel`")
    header = lines[0].split("\t")
    if "sentence" not in header or "label" not in header:
        raise DataError(f"{path}: line 1: header must name the columns `sentence` and `label`, got {header}")
    s_col, l_col = header.index("sentence"), header.index("label")
    sentences, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(f"{path}: line {number}: expected {len(header)} tab-separated fields, got {len(fields)}")
        if fields[l_col] not in ("0", "1"):
            raise DataError(f"{path}: line {number}: field `label` must be 0 or 1, got {fields[l_col]!r}")
        sentences.append(fields[s_col].strip())
        labels.append(int(fields[l_col]))
    return Sst2(tuple(sentences), tuple(labels))


def load_phrase_sentiment(root: Path) -> dict[str, float]:
    """The Stanford Sentiment Treebank's phrase annotations, lowercased: phrase -> sentiment in [0, 1].

    `dictionary.txt` holds `phrase|id` (every phrase of the treebank, single words included) and
    `sentiment_labels.txt` a header line then `id|value`. GLUE's SST-2 is lowercased, so phrases are
    matched lowercased; case variants of one phrase (rare) get the mean of their values.
    """
    root = Path(root)
    values: dict[int, float] = {}
    labels = root / "sentiment_labels.txt"
    if not labels.is_file():
        raise DataError(f"{labels}: not found (the SST release's sentiment_labels.txt, supplied locally)")
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), start=1):
        if number == 1 or not line.strip():
            continue  # header `phrase ids|sentiment values`
        fields = line.split("|")
        try:
            key, value = int(fields[0]), float(fields[1])
        except (IndexError, ValueError):
            raise DataError(f"{labels}: line {number}: expected `id|value`, got {line!r}") from None
        if not 0.0 <= value <= 1.0:
            raise DataError(f"{labels}: line {number}: field `sentiment value` must lie in [0, 1], got {value}")
        values[key] = value
    dictionary = root / "dictionary.txt"
    if not dictionary.is_file():
        raise DataError(f"{dictionary}: not found (the SST release's dictionary.txt, supplied locally)")
    sums: dict[str, list[float]] = {}
    for number, line in enumerate(dictionary.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        phrase, sep, key = line.rpartition("|")
        if not sep or not key.strip().isdigit():
            raise DataError(f"{dictionary}: line {number}: expected `phrase|id`, got {line!r}")
        if int(key) not in values:
            raise DataError(f"{dictionary}: line {number}: phrase id {key} has no entry in {labels.name}")
        sums.setdefault(phrase.lower(), []).append(values[int(key)])
    return {p: sum(v) / len(v) for p, v in sums.items()}


def word_relevance(words: list[str], sentiment: dict[str, float], low: float, high: float) -> list[bool | None]:
    """Per word: True if its own SST sentiment lies outside the neutral band (low, high], False
    inside it, None if the treebank has no entry for the word (left out of the measures' AUCs)."""
    out: list[bool | None] = []
    for w in words:
        v = sentiment.get(w.lower())
        out.append(None if v is None else not (low < v <= high))
    return out
