"""The guan2019 family's corpus and trainer: labels follow the relevant words alone, the corpus is
a pure function of its seed, and a network is a pure function of its seed (same seed, same bytes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from benchmark.data import sentiment_corpus as S
from benchmark.families.word_information.training import MODELS, TrainConfig, train_all
from benchmark.families.word_information.measure import PerturbationConfig, probe_network


def _label_from_relevant(tokens, length, relevant) -> int:
    total, negate = 0, False
    for t, r in zip(tokens[:length], relevant[:length]):
        w = S.VOCAB[int(t)]
        if not r:
            negate = False
            continue
        if w in S.NEGATIONS:
            negate = True
            continue
        total += (1 if w in S.POSITIVE else -1) * (-1 if negate else 1)
        negate = False
    return int(total > 0)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_label_is_a_function_of_the_relevant_words(seed):
    c = S.generate(40, np.random.default_rng(seed))
    for i in range(40):
        assert _label_from_relevant(c.tokens[i], c.lengths[i], c.relevant[i]) == c.labels[i]
        # irrelevant words are intensifiers or filler; pads are never relevant
        words = S.words(c.tokens[i], c.lengths[i])
        assert all(w in S.INTENSIFIERS + S.FILLER for w, r in zip(words, c.relevant[i]) if not r)
        assert not c.relevant[i, c.lengths[i]:].any() and (c.tokens[i, c.lengths[i]:] == 0).all()
    assert 6 <= c.lengths.min() and c.lengths.max() <= 16


def test_corpus_writer_is_byte_stable(tmp_path):
    S.write(tmp_path / "a", 30, 10, 20, seed=3)
    S.write(tmp_path / "b", 30, 10, 20, seed=3)
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes()
    assert np.array_equal(S.load(tmp_path / "a", "train").tokens, S.generate(30, np.random.default_rng(3)).tokens)


TINY = TrainConfig(width=8, layers=4, epochs=1, lr=0.003, batch_size=16, pretrain_epochs=1, mask_prob=0.15)


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    return S.generate(48, rng), S.generate(16, rng), S.generate(48, rng)


def _bytes(state: dict) -> bytes:
    return b"".join(state[k].numpy().tobytes() for k in sorted(state))


def test_same_seed_same_bytes_whatever_the_workers(corpus):
    train, test, unlabeled = corpus
    jobs = [(m, s) for m in MODELS for s in (1, 2)]
    one = train_all(jobs, TINY, train, test, unlabeled, workers=1)
    two = train_all(jobs[::-1], TINY, train, test, unlabeled, workers=2)[::-1]
    assert [_bytes(s) for s, _ in one] == [_bytes(s) for s, _ in two]
    assert len({_bytes(s) for s, _ in one}) == len(jobs)  # every model and seed is its own network
    pre, scratch = one[0][0], one[2][0]  # transformer seed 1, with and without pretraining
    assert pre.keys() == scratch.keys() and _bytes(pre) != _bytes(scratch)
    assert all(0 <= m["test_accuracy"] <= 1 for _, m in one)


def test_probe_of_a_trained_network_is_deterministic(corpus):
    from benchmark.families.word_information.training import network, train_one

    train, test, unlabeled = corpus
    state, _ = train_one("lstm", 5, TINY, train, test, None)
    cfg = PerturbationConfig(iterations=5, projections=2)
    tables = []
    for _ in range(2):
        net = network("lstm", TINY, 16)
        net.load_state_dict(state)
        tables.append(probe_network(net, test.tokens[:4], test.lengths[:4], test.relevant[:4], S.VOCAB, cfg, 7))
    assert tables[0].equals(tables[1]) and len(tables[0]) == 4 * int(test.lengths[:4].sum())
    assert set(tables[0].layer) == {1, 2, 3, 4}
