"""The guan2019 family's sentence classifiers: a transformer encoder, a BiLSTM and a 1-D CNN.

Each has a word embedding (the input the perturbation measure adds noise to) and `layers`
stacked blocks whose outputs [batch, words, width] are the features it reads. They share one
interface: `embed(tokens) -> x`, `embedding_table()`, `features(x, mask) -> [layer 1 .. layer L]`,
`classify(last, mask) -> logits`; the transformer adds `mlm(last)` for masked-language-model
pretraining (the embedded stand-in for BERT's).

`features(x, mask, shed=n)` serves the perturbation measure's batch, which holds one copy of the
sentences per layer (copy l, rows l*n to (l+1)*n, is read at layer l+1 only): after each layer it
drops the first n rows, so layer l+1's output holds copies l onward and the layers compute
L(L+1)/2 copies instead of L^2. Every op here reads a row's own sentence only; the last bits may
differ where a layer's batch gets small (a sentence or two), but at the probe stage's 48 sentences
every output hash was kept.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHS = ("transformer", "lstm", "cnn")


class _Base(nn.Module):
    def __init__(self, vocab: int, width: int, layers: int):
        super().__init__()
        self.emb = nn.Embedding(vocab, width)
        self.head = nn.Linear(width, 2)
        self.n_layers = layers

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.emb(tokens)

    def embedding_table(self) -> torch.Tensor:
        """The word-embedding weights (the perturbation measure's noise scale is relative to their SD)."""
        return self.emb.weight

    def classify(self, last: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over the sentence's words (pads excluded)."""
        m = mask.unsqueeze(-1).to(last.dtype)
        return self.head((last * m).sum(1) / m.sum(1).clamp_min(1.0))

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(self.embed(tokens), mask)[-1], mask)


class Transformer(_Base):
    def __init__(self, vocab: int, width: int, layers: int, max_len: int, heads: int = 2):
        super().__init__(vocab, width, layers)
        # fixed sinusoidal positions: a learned table trained too slowly to find "the previous word"
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(-torch.arange(0, width, 2, dtype=torch.float32) * (torch.log(torch.tensor(100.0)) / width))
        table = torch.zeros(max_len, width)
        table[:, 0::2], table[:, 1::2] = torch.sin(pos * freq), torch.cos(pos * freq)
        self.register_buffer("pos", table)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(width, heads, 2 * width, dropout=0.0, batch_first=True, norm_first=True)
            for _ in range(layers))
        self.mlm_head = nn.Linear(width, vocab)

    def features(self, x: torch.Tensor, mask: torch.Tensor, shed: int = 0) -> list[torch.Tensor]:
        h, pad = x + self.pos[: x.shape[1]], ~mask
        out = []
        for block in self.blocks:
            h = block(h, src_key_padding_mask=pad)
            out.append(h)
            if shed:
                h, pad = h[shed:], pad[shed:]
        return out

    def mlm(self, last: torch.Tensor) -> torch.Tensor:
        return self.mlm_head(last)


class BiLSTM(_Base):
    def __init__(self, vocab: int, width: int, layers: int):
        super().__init__(vocab, width, layers)
        self.blocks = nn.ModuleList(nn.LSTM(width, width // 2, batch_first=True, bidirectional=True)
                                    for _ in range(layers))

    def features(self, x: torch.Tensor, mask: torch.Tensor, shed: int = 0) -> list[torch.Tensor]:
        m, h, out = mask.unsqueeze(-1).to(x.dtype), x, []
        for block in self.blocks:
            h = block(h * m)[0]
            out.append(h)
            if shed:
                h, m = h[shed:], m[shed:]
        return out


class CNN(_Base):
    def __init__(self, vocab: int, width: int, layers: int, kernel: int = 3):
        super().__init__(vocab, width, layers)
        self.blocks = nn.ModuleList(nn.Conv1d(width, width, kernel, padding=kernel // 2) for _ in range(layers))

    def features(self, x: torch.Tensor, mask: torch.Tensor, shed: int = 0) -> list[torch.Tensor]:
        m, h, out = mask.unsqueeze(-1).to(x.dtype), x, []
        for block in self.blocks:
            h = torch.relu(block((h * m).transpose(1, 2))).transpose(1, 2)
            out.append(h)
            if shed:
                h, m = h[shed:], m[shed:]
        return out


def build(arch: str, vocab: int, width: int, layers: int, max_len: int) -> _Base:
    if arch == "transformer":
        return Transformer(vocab, width, layers, max_len)
    if arch == "lstm":
        return BiLSTM(vocab, width, layers)
    if arch == "cnn":
        return CNN(vocab, width, layers)
    raise ValueError(f"unknown arch {arch!r}; known: {ARCHS}")
