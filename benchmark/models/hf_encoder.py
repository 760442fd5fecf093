"""A HuggingFace-format encoder (e.g. BERT-base fine-tuned on SST-2) read from a local directory,
behind the interface the guan2019 probe reads: `embed(ids)`, `embedding_table()`, `features(x, mask)` (every hidden
layer's output, the embedding layer excluded); `load_classifier` adds the two-class head that
fine-tuning trains. Needs the optional extra `paper` (transformers);
offline only: HF_HUB_OFFLINE is set and nothing is fetched.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from benchmark.errors import DataError


class HfEncoder(torch.nn.Module):
    def __init__(self, model, tokenizer):
        super().__init__()
        self.model, self.tokenizer = model.eval(), tokenizer

    def tokenize(self, sentences: list[str], max_len: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        enc = self.tokenizer(list(sentences), padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        return enc["input_ids"], enc["attention_mask"].bool()

    def tokenize_words(self, sentences: list[list[str]], max_len: int = 64):
        """Pre-split sentences -> (ids, mask, word index of each word piece or -1 for [CLS]/[SEP]/pad)."""
        enc = self.tokenizer([list(s) for s in sentences], is_split_into_words=True, padding=True, truncation=True,
                             max_length=max_len, return_tensors="pt")
        word = torch.tensor([[-1 if w is None else w for w in enc.word_ids(i)] for i in range(len(sentences))])
        return enc["input_ids"], enc["attention_mask"].bool(), word

    def logits(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Class logits (a sequence-classification model only)."""
        return self.model(input_ids=ids, attention_mask=mask.long()).logits

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(ids)

    def embedding_table(self) -> torch.Tensor:
        """The word-piece embedding weights (guan2019's noise scale is relative to their SD)."""
        return self.model.get_input_embeddings().weight

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        out = self.model(inputs_embeds=x, attention_mask=mask.long(), output_hidden_states=True)
        return list(out.hidden_states[1:])


def _transformers(model_dir: Path):
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if not (Path(model_dir) / "config.json").is_file():
        raise DataError(f"{model_dir}: no config.json; expected a HuggingFace-format model directory (saved with save_pretrained)")
    try:
        import transformers
    except ImportError:
        raise DataError("the paper scale of guan2019 needs the optional extra: pip install '.[paper]' (transformers)") from None
    return transformers


def load_encoder(model_dir: Path) -> HfEncoder:
    model_dir = Path(model_dir)
    tr = _transformers(model_dir)
    try:
        model = tr.AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        tokenizer = tr.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"{model_dir}: unreadable HuggingFace model directory ({exc})") from None
    return HfEncoder(model, tokenizer)


def load_classifier(model_dir: Path, state: dict[str, torch.Tensor] | None = None) -> HfEncoder:
    """A two-class sequence classifier (BERT + its head) from `model_dir`; with `state`, the
    architecture comes from the directory's config and the weights from `state` (strictly: a
    fine-tuned network the training stage saved). Without `state`, a directory without a trained
    head gets a fresh one (fine-tuning starts there; a probe of it fails the accuracy precondition)."""
    model_dir = Path(model_dir)
    tr = _transformers(model_dir)
    try:
        tokenizer = tr.AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        if state is None:
            model = tr.AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=2,
                                                                          local_files_only=True)
        else:
            cfg = tr.AutoConfig.from_pretrained(str(model_dir), num_labels=2, local_files_only=True)
            model = tr.AutoModelForSequenceClassification.from_config(cfg)
            model.load_state_dict(state, strict=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"{model_dir}: unreadable HuggingFace model directory ({exc})") from None
    return HfEncoder(model, tokenizer)
