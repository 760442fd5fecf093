"""One supervised loop for the scene families' small nets (the segmenter, the scene classifiers):
Adam on cross-entropy, `epochs` passes over the data in an order drawn from the caller's seeded rng."""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn


def fit_cross_entropy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, epochs: int, batch_size: int,
                      lr: float, rng: np.random.Generator) -> dict[str, float]:
    """Train `model` in place (left in eval mode); the last mini-batch's loss and the seconds spent."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    model.train()
    loss = torch.tensor(float("nan"))
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(x)))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return {"final_loss": float(loss.item()), "train_seconds": time.perf_counter() - t0}
