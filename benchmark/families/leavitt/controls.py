"""The leavitt family's instrument controls (benchmark/controls.py): each instrument that decides
one of its claims finds an effect built in (positive) and nothing where there is none (negative).

    python -m benchmark.stages.probe leavitt controls leavitt_selectivity
Output: evidence/controls/leavitt.csv (one row per control)

Every control is declared below, with its expected outcome and margin, before it runs. The
positive ones plant the effect (units of known selectivity, a decision with a known L-inf margin,
a change of known rank, a regularizer step of known sign); the negative ones are nulls: class-blind
units (labels permuted), an attack inside the decision margin, alpha = 0 against no regularizer,
and placebo pairs (two seeds at alpha = 0, no manipulation between them) read from the sweep's own
evidence tables, where a difference as large as the claim's smallest effect would make the
instrument unfit to decide it. Cheap by design: a few networks and synthetic inputs, no training
beyond a few regularizer steps (about 10 CPU-s).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
import torch
from torch import nn

from benchmark import controls as core
from benchmark.config import AttackProbe, LayerSelectivityProbe, SelectivitySweep, SweepNet, load_params, section
from benchmark.data.registry import load_dataset
from benchmark.data.splits import Split
from benchmark.determinism import pin_threads, seed_everything
from benchmark.families.leavitt import dimensionality, probes
from benchmark.families.leavitt.regularizer import SelectivityRegularizer
from benchmark.models.factory import build
from benchmark.paths import evidence_path
from benchmark.measures.selectivity import selectivity_index
from benchmark.steps import cli

PLANTED_SI = 0.5        # planted units: preferred class's mean 3x the others' -> (3 - 1) / (3 + 1)
# The smallest absolute change in a layer's mean class selectivity that counts as a manipulation
# (claims/leavitt2021-manipulation-*-absolute.yaml), from the instrument's own null: the largest
# mean selectivity that class-blind units (test labels permuted) show in the reference arm
# (alpha = 0) of any dataset and layer of the sweep's pilot networks (pilots/leavitt/v3, seeds
# 500-515, disjoint from every verdict's: mnist1d layer 2, 0.091), rounded up to 0.01. A change
# smaller than what class-blind units show in the reference arm is within the instrument's noise.
ABSOLUTE_CHANGE = 0.10
SEEDS = (0, 1, 2, 3)    # synthetic draws / networks per control (a control, not a verdict)
RANKS = (1, 2, 4, 8, 16)

SELECTIVITY = "class selectivity index (layer_selectivity probe)"
REGULARIZER = "selectivity regularizer (the manipulation: loss - alpha x mean SI)"
CORRUPTION = "average-case corruptions (corruption probe)"
ATTACK = "white-box L-inf attacks, FGSM and PGD (attack probe)"
DIMENSION = "PCA dimensionality, components for 95% of variance (dimensionality probe)"

DECLARED = (
    core.Control("selectivity.planted", SELECTIVITY, "positive",
                 f"conv units whose preferred class's mean is 3x the other classes' (SI {PLANTED_SI} by construction), "
                 "on each dataset's test split: measured minus planted within +-0.05 (a tenth of the planted value)",
                 "within", 0.05),
    core.Control("selectivity.class_blind", SELECTIVITY, "negative",
                 "class-blind units (the sweep's alpha = 0 networks, test labels permuted): each network's largest "
                 f"layer mean SI at most {ABSOLUTE_CHANGE} (the absolute change the manipulation checks require, "
                 "set from the pilot networks' floor)", "at_most", ABSOLUTE_CHANGE),
    core.Control("regularizer.sign", REGULARIZER, "positive",
                 "20 Adam steps on the penalty alone from the same random init and mini-batches: network mean SI "
                 "after alpha = +1 minus after alpha = -1 above 0 (the penalty's gradient moves selectivity the way "
                 "alpha's sign says), on both nets", "at_least", 0.0),
    core.Control("regularizer.alpha_zero", REGULARIZER, "negative",
                 "alpha = 0 trains the very network no regularizer trains: largest |weight difference| after one "
                 "epoch below 1e-9", "at_most", 1e-9),
    core.Control("corruption.degrades", CORRUPTION, "positive",
                 "Gaussian noise at the top severity (mnist1d SD 1 on unit-SD signals; digits sigma 0.4 on [0, 1] "
                 "pixels) costs the alpha = 0 networks at least 5% of their clean accuracy (relative accuracy at "
                 "most 0.95)", "at_most", 0.95),
    core.Control("corruption.placebo", CORRUPTION, "negative",
                 "two seeds at alpha = 0 (no manipulation between them): paired difference in relative accuracy "
                 "under corruption within +-0.01 (the L3 claims' smallest effect)", "within", 0.01),
    core.Control("attack.threshold_flip", ATTACK, "positive",
                 "a linear decision with every example's margin in [1, 1.1] and an L1 weight norm of 1: FGSM and "
                 "PGD at eps 2 flip every example (accuracy at most 0.05)", "at_most", 0.05),
    core.Control("attack.below_margin", ATTACK, "negative",
                 "the same decision attacked at eps 0.5, inside every margin: nothing flips (1 - accuracy at "
                 "most 0.01)", "at_most", 0.01),
    core.Control("attack.placebo", ATTACK, "negative",
                 "two seeds at alpha = 0: paired difference in relative accuracy under attack within +-0.01 (the L4 "
                 "claims' smallest effect)", "within", 0.01),
    core.Control("dimensionality.known_rank", DIMENSION, "positive",
                 f"a change of known rank k in {list(RANKS)} (equal variances, 0.1% isotropic noise) in a 1000 x 640 "
                 "representation: components found minus k within +-0.5 (exact)", "within", 0.5),
    core.Control("dimensionality.placebo", DIMENSION, "negative",
                 "two seeds at alpha = 0: paired difference in the dimensionality of the perturbation-induced change "
                 "(fraction of components, mean over layers) within +-0.01 (L5's smallest effect)", "within", 0.01),
)
BY_ID = {c.id: c for c in DECLARED}


# --- selectivity ------------------------------------------------------------------------------

class _Planted:
    """A stand-in network whose one layer's units are given (N, C, *space) maps: the probe reads
    them as it reads a conv layer (averaged over space), and predicts class 0 throughout."""

    def __init__(self, maps: np.ndarray, n_classes: int):
        self.maps, self.n_classes = torch.from_numpy(maps), n_classes

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [self.maps[: len(x)]]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(x), self.n_classes)


def planted_maps(y: np.ndarray, n_classes: int, space: tuple[int, ...], seed: int, channels: int = 16) -> np.ndarray:
    """Unit c prefers class c mod K: its map is 3x larger on that class's images (uniform 0.5-1.5 elsewhere)."""
    rng = np.random.default_rng([seed, 3])
    base = rng.uniform(0.5, 1.5, size=(len(y), channels, *space))
    pref = (y[:, None] == (np.arange(channels) % n_classes)[None, :]).astype(float)
    return (base * (1 + 2 * pref).reshape(len(y), channels, *([1] * len(space)))).astype(np.float32)


def planted_selectivity(split: Split, dataset: str, seed: int) -> float:
    """The layer_selectivity probe on planted units: measured mean SI minus the planted SI."""
    space = (5, 5) if split.x_test.ndim == 3 else (20,)
    model = _Planted(planted_maps(split.y_test, split.n_classes, space, seed), split.n_classes)
    rows = probes.layer_selectivity(model, {"seed": seed, "alpha": 0.0, "dataset": dataset}, split,
                                    LayerSelectivityProbe(split="test"))["layer_selectivity"]
    return rows[0]["mean_selectivity"] - PLANTED_SI


def class_blind(layer_table: pd.DataFrame) -> np.ndarray:
    """Each reference-arm (alpha = 0) network's largest layer floor (mean SI, test labels permuted)."""
    zero = layer_table[np.isclose(layer_table["alpha"], 0.0)]
    return zero.groupby(["dataset", "seed"])["selectivity_floor"].max().to_numpy(float)


# --- the regularizer --------------------------------------------------------------------------

def _network_si(model: nn.Module, split: Split) -> float:
    x, y = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    with torch.no_grad():
        acts = model.activations(x)
    return float(torch.stack([selectivity_index(a, y, split.n_classes).mean() for a in acts]).mean())


def regularizer_sign(split: Split, net: SweepNet, seed: int, steps: int = 20) -> float:
    """Network mean SI after `steps` Adam steps on the penalty alone with alpha = +1, minus the same
    with alpha = -1 (same init, same mini-batches)."""
    shape = tuple(split.x_train.shape[1:])
    x, y = torch.from_numpy(split.x_train), torch.from_numpy(split.y_train)
    out = {}
    for alpha in (1.0, -1.0):
        seed_everything(seed)
        model = build(net.arch, int(np.prod(shape)), split.n_classes, list(net.hidden), in_shape=shape)
        opt = torch.optim.Adam(model.parameters(), lr=net.lr)
        reg, gen = SelectivityRegularizer(alpha, split.n_classes), torch.Generator().manual_seed(seed)
        for _ in range(steps):
            idx = torch.randperm(len(y), generator=gen)[: net.batch_size]
            _, penalty = reg(model, x[idx], y[idx])
            opt.zero_grad()
            penalty.backward()
            opt.step()
        out[alpha] = _network_si(model.eval(), split)
    return out[1.0] - out[-1.0]


def alpha_zero(split: Split, net: SweepNet, seed: int, subset: int = 512) -> float:
    """Largest |weight difference| between one epoch at alpha = 0 and one with no regularizer."""
    from benchmark.experiments.train import TrainConfig, train_network

    cfg = TrainConfig(arch=net.arch, hidden=tuple(net.hidden), epochs=1, lr=net.lr, batch_size=net.batch_size,
                      weight_decay=net.weight_decay, train_subset=subset)
    plain = train_network(cfg, split, seed).state
    zero = train_network(cfg, split, seed, regularizer=SelectivityRegularizer(0.0, split.n_classes)).state
    return max(float((plain[k] - zero[k]).abs().max()) for k in plain if torch.is_tensor(plain[k]))


# --- attacks ----------------------------------------------------------------------------------

def margin_split(n: int = 200, d: int = 10, seed: int = 0) -> tuple[Split, nn.Module]:
    """Two classes decided by w.x with w = 1/d (L1 norm 1): every example's margin |w.x| lies in
    [1, 1.1], so an L-inf attack flips it exactly when eps exceeds its margin."""
    rng = np.random.default_rng([seed, 5])
    y = rng.integers(0, 2, n)
    margin = rng.uniform(1.0, 1.1, n) * np.where(y == 1, 1, -1)
    x = (rng.normal(size=(n, d)) * 0.1).astype(np.float32)
    x += (margin - x.mean(1))[:, None]  # w.x = mean(x) = margin
    model = nn.Linear(d, 2)
    with torch.no_grad():
        model.weight.copy_(torch.tensor(np.stack([-np.ones(d), np.ones(d)]) / (2 * d), dtype=torch.float32))
        model.bias.zero_()  # logit difference = w.x with w = 1/d
    split = Split(x, y.astype(np.int64), x.astype(np.float32), y.astype(np.int64), 2)
    return split, model.eval()


def attacked_accuracy(eps: float, seed: int) -> list[float]:
    """Accuracy of the margin model under FGSM and PGD at `eps` (the attack probe's rows)."""
    split, model = margin_split(seed=seed)
    cfg = AttackProbe(attacks=["fgsm", "pgd"], epsilons={"margin": [eps]}, pgd_steps=10)
    rows = probes.attacks(model, {"seed": seed, "alpha": 0.0, "dataset": "margin"}, split, cfg)["attack"]
    return [r["accuracy"] for r in rows]


# --- dimensionality ---------------------------------------------------------------------------

def known_rank(k: int, seed: int, n: int = 1000, d: int = 640) -> float:
    """Components the probe's count finds for a change of rank k (equal variances, 0.1% noise), minus k."""
    rng = np.random.default_rng([seed, k, 9])
    basis, _ = np.linalg.qr(rng.normal(size=(d, k)))
    change = rng.normal(size=(n, k)) @ basis.T
    change += rng.normal(size=(n, d)) * math.sqrt(1e-3 * k / d)
    return float(dimensionality.n_components(change.astype(np.float32), 0.95) - k)


# --- placebo pairs from the sweep's evidence ----------------------------------------------------

def placebo(table: pd.DataFrame, y: str, by: tuple[str, ...] = ()) -> np.ndarray:
    """Alpha = 0 networks in seed order, paired (1st, 2nd), (3rd, 4th), ...: the per-seed mean of `y`
    (over every other column) of the first minus the second, per dataset (and `by`)."""
    zero = table[np.isclose(table["alpha"], 0.0)]
    per_seed = zero.groupby(["dataset", *by, "seed"])[y].mean()
    out = []
    for _, g in per_seed.groupby(level=list(range(1 + len(by)))):
        v = g.sort_index(level=-1).to_numpy(float)
        m = len(v) // 2 * 2
        out.extend(v[0:m:2] - v[1:m:2])
    return np.asarray(out)


def dimensionality_placebo(table: pd.DataFrame) -> np.ndarray:
    changed = table[table["perturbation"] != "none"]
    return placebo(changed, "dim_fraction", ("perturbation",))


# --- the stage ----------------------------------------------------------------------------------

def measure(sweep: SelectivitySweep, splits: dict[str, Split], tables: dict[str, pd.DataFrame]) -> dict[str, list[float]]:
    """Every control's values (per synthetic draw, network or placebo pair)."""
    values: dict[str, list[float]] = {c.id: [] for c in DECLARED}
    for ds, split in splits.items():
        values["selectivity.planted"] += [planted_selectivity(split, ds, s) for s in SEEDS]
    values["selectivity.class_blind"] = list(class_blind(tables["layer_selectivity"]))
    for net in sweep.nets:
        split = splits[net.dataset]
        values["regularizer.sign"] += [regularizer_sign(split, net, s) for s in SEEDS[:2]]
        values["regularizer.alpha_zero"].append(alpha_zero(split, net, SEEDS[0]))
    values["regularizer.alpha_zero"] = [max(values["regularizer.alpha_zero"])]
    cor = tables["corruption"]
    top = cor[np.isclose(cor["alpha"], 0.0) & (cor["corruption"] == "gaussian_noise") & (cor["severity"] == cor["severity"].max())]
    values["corruption.degrades"] = list(top.groupby(["dataset", "seed"])["relative_accuracy"].mean())
    values["corruption.placebo"] = list(placebo(cor, "relative_accuracy"))
    values["attack.threshold_flip"] = [a for s in SEEDS for a in attacked_accuracy(2.0, s)]
    values["attack.below_margin"] = [1 - a for s in SEEDS for a in attacked_accuracy(0.5, s)]
    values["attack.placebo"] = list(placebo(tables["attack"], "relative_accuracy"))
    values["dimensionality.known_rank"] = [known_rank(k, s) for k in RANKS for s in SEEDS[:2]]
    values["dimensionality.placebo"] = list(dimensionality_placebo(tables["dimensionality"]))
    return values


TABLES = ("layer_selectivity", "corruption", "attack", "dimensionality")


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("experiment")
    args = ap.parse_args(argv)
    params = load_params()
    sweep: SelectivitySweep = section(params, f"experiments.{args.experiment}", SelectivitySweep)
    from benchmark.stats.evidence import read_table

    pin_threads(1)
    splits = {n.dataset: load_dataset(n.dataset, params) for n in sweep.nets}
    tables = {t: read_table(evidence_path(args.experiment, t)) for t in TABLES}
    core.decide_and_write("leavitt", DECLARED, measure(sweep, splits, tables))
    return 0
