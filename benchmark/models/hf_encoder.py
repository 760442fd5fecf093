"""A HuggingFace-format encoder (e.g. BERT-base fine-tuned on SST-2) read from a local directory,
behind the interface the guan2019 probe reads: `embed(ids)`, `features(x, mask)` (every hidden
layer's output, the embedding layer excluded). Needs the optional extra `paper` (transformers);
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

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.get_input_embeddings()(ids)

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        out = self.model(inputs_embeds=x, attention_mask=mask.long(), output_hidden_states=True)
        return list(out.hidden_states[1:])


def load_encoder(model_dir: Path) -> HfEncoder:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise DataError(f"{model_dir}: no config.json; expected a HuggingFace-format model directory (saved with save_pretrained)")
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise DataError("the paper scale of guan2019 needs the optional extra: pip install '.[paper]' (transformers)") from None
    try:
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise DataError(f"{model_dir}: unreadable HuggingFace model directory ({exc})") from None
    return HfEncoder(model, tokenizer)
