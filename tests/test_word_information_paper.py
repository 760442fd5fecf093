"""Paper-scale loaders of the guan2019 family on tiny fixtures the test writes itself: a few SST-2
TSV lines and a randomly initialized tiny BERT saved in HuggingFace format; nothing downloads."""

from __future__ import annotations

import pytest
import torch

from benchmark.families.word_information.sst2 import load_tsv
from benchmark.errors import DataError
from benchmark.families.word_information.measure import PerturbationConfig, gradient_measures, perturbation_entropy


def test_sst2_tsv(tmp_path):
    p = tmp_path / "dev.tsv"
    p.write_text("sentence\tlabel\na gripping film \t1\ndull and lifeless\t0\n\n", encoding="utf-8")
    data = load_tsv(p)
    assert data.sentences == ("a gripping film", "dull and lifeless") and data.labels == (1, 0)


@pytest.mark.parametrize("text, where", [("sentence\tlabel\nfine\t2\n", "line 2"), ("text\ty\nfine\t1\n", "line 1"),
                                         ("sentence\tlabel\nfine\n", "line 2")])
def test_sst2_bad_input_names_line(tmp_path, text, where):
    p = tmp_path / "bad.tsv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=where):
        load_tsv(p)


def test_tiny_bert_directory_offline(tmp_path, monkeypatch):
    transformers = pytest.importorskip("transformers")
    from benchmark.models.hf_encoder import load_encoder

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good", "bad", "film", "not"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(words)}).save_pretrained(tmp_path)
    torch.manual_seed(0)
    cfg = transformers.BertConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=4, num_attention_heads=2,
                                  intermediate_size=32, max_position_embeddings=32)
    transformers.BertModel(cfg).save_pretrained(tmp_path)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    enc = load_encoder(tmp_path)
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    ids, mask = enc.tokenize(["a good film", "not a bad film"])
    with torch.no_grad():
        x = enc.embed(ids)
        feats = enc.features(x, mask)
    assert len(feats) == 4 and feats[-1].shape == (2, ids.shape[1], 16)
    cfg_p = PerturbationConfig(iterations=3, projections=2)
    h = perturbation_entropy(enc.features, x, mask, cfg_p, seed=0)
    sal, _ = gradient_measures(enc.features, x, mask, cfg_p, seed=0)
    assert h.shape == sal.shape == (4, *ids.shape) and torch.isfinite(h[:, mask]).all()


def test_missing_model_directory_is_a_clear_error(tmp_path):
    from benchmark.models.hf_encoder import load_encoder

    with pytest.raises(DataError, match="config.json"):
        load_encoder(tmp_path)


# --- the paper-scale pipeline pieces on the fixture files (benchmark.paper.fixtures) -----------------

def _fixture(tmp_path):
    import numpy as np

    from benchmark.paper import fixtures

    fixtures.sst(tmp_path / "SST-2", tmp_path / "sst", np.random.default_rng(0))
    return tmp_path


def test_sst_phrase_sentiment_and_relevance_band(tmp_path):
    from benchmark.families.word_information.sst2 import load_phrase_sentiment, word_relevance
    from benchmark.paper.fixtures import SST_NEGATIVE, SST_NEUTRAL, SST_POSITIVE

    root = _fixture(tmp_path) / "sst"
    values = load_phrase_sentiment(root)
    assert all(values[w] > 0.6 for w in SST_POSITIVE) and all(values[w] <= 0.4 for w in SST_NEGATIVE)
    assert all(0.4 < values[w] <= 0.6 for w in SST_NEUTRAL)
    assert word_relevance(["Good", "the", "dull", "zzz"], values, 0.4, 0.6) == [True, False, True, None]


@pytest.mark.parametrize("labels, where", [("phrase ids|sentiment values\n0|1.5\n", "line 2"),
                                           ("phrase ids|sentiment values\nx|0.5\n", "line 2")])
def test_sst_bad_sentiment_file_names_line(tmp_path, labels, where):
    from benchmark.families.word_information.sst2 import load_phrase_sentiment

    (tmp_path / "dictionary.txt").write_text("good|0\n", encoding="utf-8")
    (tmp_path / "sentiment_labels.txt").write_text(labels, encoding="utf-8")
    with pytest.raises(DataError, match=f"sentiment_labels.txt: {where}"):
        load_phrase_sentiment(tmp_path)


def test_sst_dictionary_id_without_value_is_an_error(tmp_path):
    from benchmark.families.word_information.sst2 import load_phrase_sentiment

    (tmp_path / "dictionary.txt").write_text("good|0\nbad|7\n", encoding="utf-8")
    (tmp_path / "sentiment_labels.txt").write_text("phrase ids|sentiment values\n0|0.9\n", encoding="utf-8")
    with pytest.raises(DataError, match="dictionary.txt: line 2: phrase id 7"):
        load_phrase_sentiment(tmp_path)


def test_paper_models_train_deterministically_and_probe_per_word(tmp_path):
    pytest.importorskip("transformers")
    from benchmark.families.word_information.sst2 import load_phrase_sentiment, word_relevance
    from benchmark.families.word_information import paper_models as wp
    from benchmark.families.word_information.config import FinetuneParams, PaperTrainParams
    from benchmark.paper import fixtures
    from benchmark.families.word_information.measure import PerturbationConfig, claim_tables, layer_summary, piece_table

    root = _fixture(tmp_path)
    assert fixtures.tiny_bert(root / "bert")
    train = wp.split_words(load_tsv(root / "SST-2" / "train.tsv"))
    dev = wp.split_words(load_tsv(root / "SST-2" / "dev.tsv"))
    ft = FinetuneParams(epochs=1, lr=1e-3, batch_size=16, max_len=24)
    a, ma = wp.finetune_bert(root / "bert", 3, ft, train, dev, "cpu")
    b, _ = wp.finetune_bert(root / "bert", 3, ft, train, dev, "cpu")
    c, _ = wp.finetune_bert(root / "bert", 4, ft, train, dev, "cpu")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # same seed, same bytes
    assert not torch.equal(a["classifier.weight"], c["classifier.weight"])    # the seed matters
    assert 0 <= ma["test_accuracy"] <= 1
    vocab = wp.build_vocab(train)
    tc = PaperTrainParams(width=8, layers=4, epochs=1, lr=1e-3, batch_size=16)
    s1, _ = wp.train_small("lstm", 3, tc, vocab, train, dev, "cpu")
    s2, _ = wp.train_small("lstm", 3, tc, vocab, train, dev, "cpu")
    assert all(torch.equal(s1[k], s2[k]) for k in s1)

    from benchmark.models.hf_encoder import load_classifier
    from benchmark.families.word_information.measure import gradient_measures, perturbation_entropy

    values = load_phrase_sentiment(root / "sst")
    sents = [["a", "charming", "film"], ["boring", "plot", "and", "zzz"]]
    relevant = [word_relevance(s, values, 0.4, 0.6) for s in sents]
    enc = load_classifier(root / "bert", a)
    ids, mask, piece_word = enc.tokenize_words(sents, 24)
    assert (piece_word[0] == 1).sum() == 2  # "charming" -> charm ##ing: two pieces, one word
    with torch.no_grad():
        x = enc.embed(ids)
    pc = PerturbationConfig(iterations=3, projections=2)
    for p in enc.model.parameters():
        p.requires_grad_(False)
    h = perturbation_entropy(enc.features, x, mask, pc, seed=0)
    sal, gxi = gradient_measures(enc.features, x, mask, pc, seed=1)
    words = piece_table(h, sal, gxi, piece_word.numpy(), sents, relevant)
    # one row per layer and annotated word ("zzz" has no SST entry), the pieces averaged
    assert len(words) == 4 * 6 and list(words.word[:3]) == ["a", "charming", "film"]
    charm = words[(words.layer == 1) & (words.word == "charming")].entropy.item()
    pieces = h[0, 0][piece_word[0] == 1]
    assert charm == pytest.approx(float(pieces.mean()), rel=1e-6)
    layers = layer_summary(words).assign(model="transformer_pretrained", seed=3, test_accuracy=0.9)
    small = layer_summary(words[words.layer <= 2]).assign(model="lstm", seed=3, test_accuracy=0.9)
    import pandas as pd

    final = claim_tables(pd.concat([layers, small], ignore_index=True))["final_gap"]
    # each model's own last layer: BERT's 4th, the LSTM's 2nd
    assert set(final.model) == {"transformer_pretrained", "lstm"} and len(final) == 3
