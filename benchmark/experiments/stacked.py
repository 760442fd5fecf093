"""Train many same-shape conv nets at once: G networks as one grouped-convolution model.

Small conv nets on the CPU spend most of a step in per-call overhead, not arithmetic, so training
G of them one after another costs about G times one step's overhead. Stacking them as the groups
of one grouped convolution (each network sees its own mini-batch in its own input channel, its
own labels, its own regularizer strength) pays that overhead once per step. Nothing is shared:
the loss is the sum of the networks' own losses, so each network's gradient is its own, and Adam
is elementwise, so each network follows the same update rule as when trained alone (the sums run
in another order, so the weights agree with `train_network`'s to float rounding, not bit for bit).

Every network keeps its own seed: its initialization is `ConvNet` built after
`torch.manual_seed(seed)` and its data order a `torch.Generator` seeded with it, as in
`benchmark.experiments.train.train_network`. The unstacked state dicts load into `ConvNet`, so
probes treat them like any other saved network.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmark.data.splits import Split
from benchmark.determinism import seed_everything
from benchmark.models.convnet import ConvNet
from benchmark.models.factory import build
from benchmark.parallel import progress
from benchmark.measures.selectivity import EPS


@dataclasses.dataclass(frozen=True)
class Member:
    """One network of a stack: its seed (init and data order) and regularizer strength."""

    seed: int
    alpha: float


class StackedConvNet(nn.Module):
    """G ConvNets of one shape as one module; `from_nets` stacks, `unstack` splits them again."""

    def __init__(self, nets: list[ConvNet]):
        super().__init__()
        first = nets[0]
        self.G, self.in_shape, self.widths = len(nets), first.in_shape, first.widths
        conv = nn.Conv1d if len(self.in_shape) == 1 else nn.Conv2d
        self.hidden = nn.ModuleList()
        for i, layer in enumerate(first.hidden):
            c = conv(layer.in_channels * self.G, layer.out_channels * self.G, layer.kernel_size,
                     stride=layer.stride, padding=layer.padding, groups=self.G)
            with torch.no_grad():
                c.weight.copy_(torch.cat([n.hidden[i].weight for n in nets]))
                c.bias.copy_(torch.cat([n.hidden[i].bias for n in nets]))
            self.hidden.append(c)
        self.out_w = nn.Parameter(torch.stack([n.out.weight.detach() for n in nets]).clone())  # (G, K, F)
        self.out_b = nn.Parameter(torch.stack([n.out.bias.detach() for n in nets]).clone())    # (G, K)

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x: (N, G, *in_shape), network g's batch in channel g -> per layer (N, G, C, *space)."""
        h, acts = x, []
        for conv in self.hidden:
            h = torch.relu(conv(h))
            acts.append(h.reshape(len(h), self.G, -1, *h.shape[2:]))
        return acts

    def logits(self, last: torch.Tensor) -> torch.Tensor:
        """(N, G, C, *space) -> (N, G, K)."""
        return torch.einsum("ngf,gkf->ngk", last.flatten(2), self.out_w) + self.out_b

    def unstack(self) -> list[dict[str, torch.Tensor]]:
        states = []
        for g in range(self.G):
            st = {}
            for i, (conv, w) in enumerate(zip(self.hidden, self.widths)):
                st[f"hidden.{i}.weight"] = conv.weight[g * w:(g + 1) * w].detach().clone().contiguous()
                st[f"hidden.{i}.bias"] = conv.bias[g * w:(g + 1) * w].detach().clone().contiguous()
            st["out.weight"] = self.out_w[g].detach().clone().contiguous()
            st["out.bias"] = self.out_b[g].detach().clone().contiguous()
            states.append(st)
        return states


def stacked_selectivity(act: torch.Tensor, y: torch.Tensor, n_classes: int, eps: float = EPS) -> torch.Tensor:
    """Mean unit selectivity per network, (G,), for act (N, G, C, *space) and labels y (N, G);
    the batched twin of `benchmark.measures.selectivity.selectivity_index(...).mean()` (classes
    absent from a network's batch are left out of its mu_rest)."""
    a = act.flatten(3).mean(-1) if act.dim() > 3 else act           # (N, G, C)
    onehot = F.one_hot(y.long(), n_classes).to(a.dtype)              # (N, G, K)
    counts = onehot.sum(0)                                           # (G, K)
    means = torch.einsum("ngk,ngc->gkc", onehot, a) / counts.clamp(min=1).unsqueeze(-1)
    present = (counts > 0).unsqueeze(-1)                             # (G, K, 1)
    mu_max = means.masked_fill(~present, -math.inf).amax(1)          # (G, C)
    k = present.sum(1).to(a.dtype)                                   # (G, 1)
    mu_rest = ((means * present).sum(1) - mu_max) / (k - 1)
    return ((mu_max - mu_rest) / (mu_max + mu_rest + eps)).mean(-1)


def train_stacked(arch: str, arch_hidden: list[int], split: Split, members: list[Member], epochs: int, lr: float,
                  batch_size: int, weight_decay: float = 0.0) -> list[tuple[dict[str, torch.Tensor], dict[str, float]]]:
    """Train every member (with leavitt2021's selectivity regularizer at its alpha, over all
    hidden layers) together; return (state, metrics) per member, in order."""
    in_shape = tuple(split.x_train.shape[1:])
    if arch not in ("conv1d", "conv2d"):
        raise ValueError(f"stacked training takes conv1d / conv2d nets, not {arch!r}")
    nets, gens = [], []
    for m in members:
        seed_everything(m.seed)
        torch.manual_seed(m.seed)
        nets.append(build(arch, int(np.prod(in_shape)), split.n_classes, list(arch_hidden), in_shape=in_shape))
        gens.append(torch.Generator().manual_seed(m.seed))
    model = StackedConvNet(nets)
    G, n = len(members), len(split.y_train)
    alphas = torch.tensor([m.alpha for m in members], dtype=torch.float32)
    x_tr, y_tr = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in progress(range(epochs), desc="epochs"):
        model.train()
        orders = torch.stack([torch.randperm(n, generator=g) for g in gens], 1)  # (n, G)
        for start in range(0, n, batch_size):
            idx = orders[start:start + batch_size]                                # (B, G)
            xb, yb = x_tr[idx], y_tr[idx]                                         # (B, G, *in), (B, G)
            opt.zero_grad(set_to_none=True)
            acts = model.activations(xb)
            logits = model.logits(acts[-1])
            ce = F.cross_entropy(logits.permute(0, 2, 1), yb, reduction="none").mean(0)  # (G,)
            si = torch.stack([stacked_selectivity(a, yb, split.n_classes) for a in acts]).mean(0)
            loss = (ce - alphas * si).sum()
            loss.backward()
            opt.step()
    model.eval()
    out = []
    with torch.no_grad():
        def evaluate(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            xs = torch.from_numpy(x).unsqueeze(1).expand(-1, G, *x.shape[1:])
            lg = model.logits(model.activations(xs)[-1])                          # (N, G, K)
            yt = torch.from_numpy(y)
            acc = (lg.argmax(-1) == yt.unsqueeze(1)).float().mean(0)
            loss = F.cross_entropy(lg.permute(0, 2, 1), yt.unsqueeze(1).expand(-1, G), reduction="none").mean(0)
            return acc, loss
        tr_acc, _ = evaluate(split.x_train, split.y_train)
        te_acc, te_loss = evaluate(split.x_test, split.y_test)
    for g, state in enumerate(model.unstack()):
        out.append((state, {"epochs": float(epochs), "train_acc": float(tr_acc[g]),
                            "train_acc_clean_labels": float(tr_acc[g]), "test_acc": float(te_acc[g]),
                            "test_loss": float(te_loss[g]), "fit": 1.0}))
    return out
