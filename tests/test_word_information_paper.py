"""Paper-scale loaders of the guan2019 family on tiny fixtures the test writes itself: a few SST-2
TSV lines and a randomly initialized tiny BERT saved in HuggingFace format; nothing downloads."""

from __future__ import annotations

import pytest
import torch

from benchmark.data.sst2 import load_tsv
from benchmark.errors import DataError
from benchmark.probes.word_information import PerturbationConfig, gradient_measures, perturbation_entropy


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
    transformers.BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
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
