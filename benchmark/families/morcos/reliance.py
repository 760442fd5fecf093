"""morcos2018 M3/M4 probes: reliance on single directions (cumulative ablation) of saved networks.

For every saved network (a final one or a training checkpoint):
* the cumulative-ablation curve on the training set (the labels trained on, the first
  `eval_subset` examples of the training subset the network saw), `orders` random orders over all
  hidden units, as in M2 (`benchmark.probes.ablation.cumulative_ablation_curve`);
* `area`: its trapezoidal area; `area_norm` = area / unablated accuracy, so that the area measures
  robustness (the share of accuracy kept), not accuracy a second time; at checkpoints (M3b) also
  `area_cc`, the share of the accuracy *above chance* kept (`chance_corrected_area`): area_norm
  tends to 1 as a network nears chance (a network at chance keeps its chance accuracy under
  ablation), which early in training reads as robustness; area_cc does not;
* test accuracy and test loss (cross-entropy), and, for final networks, the mean class selectivity
  of the hidden units (post-ReLU, test set, as in M1), raw and above its permuted-label level.
Batch-norm networks: their BN statistics are frozen on every training example the network saw
(unablated network) before anything is measured (`benchmark.models.morcos_variants.freeze_batch_norm`), so an
ablated unit shifts the next layer exactly as in an eval-mode network; BN never re-normalizes the
ablated network.

Tables (rows per network):
  reliance        final networks: conditions, area, area_norm, accuracies (train_acc: on every
                  training example seen), test loss, selectivity
  reliance_curves final networks: mean accuracy at each ablated fraction (figures)
  reliance_scores final networks, long form for paired tests (M4a): measure in {area_norm,
                  nonselectivity = 1 - mean selectivity above its permuted-label level
                  (`selectivity_null`; since M4a version 2)}, score (larger = the claim's direction)
  course          checkpoints (M3b): epoch, area, area_norm, area_cc, test loss, test accuracy
The dropout kinks of M4b are computed from `reliance_curves` (`dropout_kinks`), for the networks
with dropout and for the no-dropout arm on the same seeds.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from benchmark.data.splits import Split
from benchmark.models.morcos_variants import MLPVariant, freeze_batch_norm
from benchmark.probes.ablation import area_under_curve, cumulative_ablation_curve
from benchmark.measures.selectivity import selectivity_index, selectivity_null


from benchmark.config import RelianceProbe  # noqa: E402  (params models live in benchmark.config)


CHANCE_MARGIN = 0.05  # area_cc is NaN for a network within 5 points of chance: nothing above chance to lose


def dropout_of(arch: str) -> float:
    return float(arch.split("=", 1)[1]) if arch.startswith("mlp+dropout=") else 0.0


def chance_corrected_area(fractions: np.ndarray, curve: np.ndarray, n_classes: int) -> float:
    """The share of the unablated accuracy above chance (1 / n_classes) that the network keeps under
    cumulative ablation, averaged over the ablated fractions: (area - c R) / ((a0 - c) R), with c
    chance, a0 the unablated accuracy and R the range of fractions. 1: nothing lost until every unit
    is gone; 0: at chance as soon as anything is ablated. Diluting a network's accuracy toward
    chance (e.g. evaluation examples it cannot know) leaves it unchanged in expectation, where
    area / a0 rises toward 1 (the family's control `course.diluted_to_chance`). NaN within
    CHANCE_MARGIN of chance."""
    c = 1.0 / n_classes
    span = float(fractions[-1] - fractions[0])
    base = float(curve[0])
    if base - c < CHANCE_MARGIN:
        return math.nan
    return (float(area_under_curve(fractions, curve)) - c * span) / ((base - c) * span)


def window_slope(fractions: np.ndarray, accuracy: np.ndarray, lo: float, hi: float) -> float:
    """OLS slope of accuracy over the ablated fraction, grid points in [lo, hi] (inclusive)."""
    keep = (fractions >= lo - 1e-9) & (fractions <= hi + 1e-9)
    if keep.sum() < 2:
        raise ValueError(f"ablation grid has fewer than 2 points in [{lo}, {hi}]")
    return float(np.polyfit(fractions[keep], accuracy[keep], 1)[0])


def _train_xy(split: Split, meta: dict, train_labels: np.ndarray | None):
    n = meta.get("train_subset") or len(split.y_train)
    y = train_labels if train_labels is not None else split.y_train[:n]
    return torch.from_numpy(split.x_train[:n]), torch.from_numpy(np.asarray(y))


def test_metrics(model, split: Split) -> tuple[float, float]:
    """(test accuracy, test loss) of the network in eval mode; the one computation behind every
    test loss of these tables (the probe's rows and the trainer's checkpoint table agree)."""
    model.eval()
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    with torch.no_grad():
        logits = model(x_te)
        return (float((logits.argmax(1) == y_te).float().mean()),
                float(torch.nn.functional.cross_entropy(logits, y_te)))


def reliance(model, meta: dict, split: Split, cfg: RelianceProbe, train_labels=None) -> dict[str, list[dict]]:
    x_tr, y_tr = _train_xy(split, meta, train_labels)
    freeze_batch_norm(model, x_tr)
    with torch.no_grad():  # the fit on every training example the network saw (a precondition)
        train_acc = float((model(x_tr).argmax(1) == y_tr).float().mean())
    if cfg.eval_subset:
        x_tr, y_tr = x_tr[: cfg.eval_subset], y_tr[: cfg.eval_subset]
    test_acc, test_loss = test_metrics(model, split)
    x_te, y_te = torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)
    fractions = np.asarray(cfg.fractions, dtype=float)
    rng = np.random.default_rng([meta["seed"], 7])  # ablation orders: a fixed function of the seed
    curves = cumulative_ablation_curve(model, x_tr, y_tr, fractions, rng, cfg.orders)
    mean_curve = curves.mean(0)
    area = float(area_under_curve(fractions, mean_curve))
    base = float(mean_curve[0])
    arch, p = meta["arch"], dropout_of(meta["arch"])
    cond = {"seed": meta["seed"], "arch": arch, "lr": meta["lr"], "dropout": p,
            "batch_norm": int(arch == "mlp+bn")}
    row = {**cond, "area": area, "area_norm": area / base if base > 0 else float("nan"),
           "accuracy_unablated": base, "train_acc": train_acc, "test_acc": test_acc, "test_loss": test_loss}
    if not meta.get("final"):
        return {"course": [{**row, "area_cc": chance_corrected_area(fractions, mean_curve, split.n_classes),
                            "epoch": meta["epoch"]}]}
    with torch.no_grad():
        acts = model.activations(x_te)
    si = torch.cat([selectivity_index(a, y_te, split.n_classes) for a in acts])
    null = torch.cat([selectivity_null(a, y_te, split.n_classes, seed=meta["seed"] * 10 + i) for i, a in enumerate(acts)])
    row["selectivity"] = float(si.mean())
    row["selectivity_excess"] = float((si - null).mean())  # above the index's level under permuted labels
    row["epochs"] = meta["epoch"]
    cond["train_acc"] = train_acc  # carried into every table, for the claims' fit precondition
    out = {"reliance": [row],
           "reliance_curves": [{**cond, "fraction": float(f), "accuracy": float(a)} for f, a in zip(fractions, mean_curve)],
           "reliance_scores": [{**cond, "measure": "area_norm", "score": row["area_norm"]},
                               {**cond, "measure": "nonselectivity", "score": 1.0 - row["selectivity_excess"]}]}
    return out


__all__ = ["RelianceProbe", "reliance", "test_metrics", "dropout_of", "window_slope", "chance_corrected_area",
           "MLPVariant"]


def loss_minimum(epochs: np.ndarray, losses: np.ndarray) -> tuple[float, float]:
    """(t_min, rise): the checkpoint epoch of minimum test loss (the first, on ties) and the test
    loss at the last checkpoint minus that minimum."""
    order = np.argsort(epochs, kind="stable")
    ep, loss = np.asarray(epochs, float)[order], np.asarray(losses, float)[order]
    i = int(np.argmin(loss))
    return float(ep[i]), float(loss[-1] - loss[i])


def window_epochs(epochs: np.ndarray, losses: np.ndarray, window: int) -> list[int]:
    """The checkpoint epochs within `window` epochs of the test-loss minimum (both windows of
    `course_summary`): the only checkpoints its statistic reads an area from."""
    t_min, _ = loss_minimum(epochs, losses)
    return sorted(int(e) for e in epochs if t_min - window <= e <= t_min + window)


def course_summary(course, window: int, losses=None, measure: str = "area_cc"):
    """M3b, per network: the epoch of minimum test loss (t_min, over the checkpoints), and the OLS
    slope of `measure` (since version 3 of the claim the chance-corrected area, `area_cc`; version 2
    read `area_norm`) over the checkpoints in [t_min - window, t_min] ("before") and in
    [t_min, t_min + window] ("after"), each expressed as the change over `window` epochs. Also
    (descriptive) the epoch of maximum area_norm over the ablated checkpoints, its lag behind
    t_min, and how much the test loss rose after its minimum (last checkpoint minus minimum: the
    setup overfits if > 0). Checkpoints whose measure is NaN (area_cc within CHANCE_MARGIN of
    chance) are left out of the windows. Two rows per network (window = before | after); a window
    with fewer than 3 checkpoints gets a NaN slope and its count in `checkpoints`: the claim's precondition (at
    least 3 in both windows) then makes the verdict inconclusive, where a NaN would stop the claim
    test before its preconditions are read (a test-loss minimum at the first or last checkpoint,
    e.g. a capped smoke run on fixture data).

    `losses` (optional): the test loss of *every* checkpoint (seed, arch, lr, epoch, test_loss),
    when only the checkpoints inside the windows were kept and ablated (`checkpoint_window`):
    t_min and the rise then come from it, and every checkpoint inside a window must have an area
    (else ValueError), so the statistic is the one computed from all checkpoints."""
    import pandas as pd

    rows = []
    for (seed, arch, lr), g in course.groupby(["seed", "arch", "lr"], sort=True):
        g = g.sort_values("epoch")
        ep, area = g["epoch"].to_numpy(float), g[measure].to_numpy(float)
        if losses is None:
            all_ep, all_loss = ep, g["test_loss"].to_numpy(float)
        else:
            lg = losses[(losses["seed"] == seed) & (losses["arch"] == arch) & (losses["lr"] == lr)]
            all_ep, all_loss = lg["epoch"].to_numpy(float), lg["test_loss"].to_numpy(float)
            missing = sorted(set(window_epochs(all_ep, all_loss, window)) - set(ep.astype(int)))
            if missing:
                raise ValueError(f"network seed={seed} arch={arch} lr={lr}: no ablation area at checkpoint "
                                 f"epochs {missing}, inside the windows around its test-loss minimum")
        t_min, rise = loss_minimum(all_ep, all_loss)
        t_max = ep[int(np.nanargmax(area))] if np.isfinite(area).any() else math.nan
        common = {"seed": seed, "arch": arch, "lr": lr, "t_min_loss": t_min, "t_max_area": t_max,
                  "lag": t_max - t_min, "test_loss_rise": rise, "last_epoch": float(np.max(all_ep))}
        for name, lo, hi in (("before", t_min - window, t_min), ("after", t_min, t_min + window)):
            keep = (ep >= lo) & (ep <= hi) & np.isfinite(area)
            # fewer than 3 points carry no slope: NaN, which the claim's precondition (>= 3
            # checkpoints per window) sets aside (benchmark.stats.kinds.run_test)
            slope = float(np.polyfit(ep[keep], area[keep], 1)[0]) * window if keep.sum() >= 3 else math.nan
            rows.append({**common, "window": name, "checkpoints": int(keep.sum()), "slope": slope})
    return pd.DataFrame(rows)


OUTCOMES = {"test_acc": 1.0, "test_loss": -1.0}  # oriented so that larger = generalizes better


def ensemble_standardized(rel):
    """M3a, long form: one row per network and outcome (test accuracy; test loss, sign flipped so
    that larger = better generalization), with the area and the outcome each standardized across
    the ensemble (z-scores over the networks). The OLS slope of `outcome_z` on `area_z` within an
    outcome is then the Pearson correlation r across networks, and its OLS standard error
    sqrt((1 - r^2) / (n - 2)); the t statistic is exactly the correlation's t test."""
    import pandas as pd

    def z(v):
        v = v.astype(float)
        sd = v.std(ddof=1)
        # an outcome every network shares (tiny fixture data) ranks nothing: z = 0, not NaN or
        # rounding noise blown up (the SD of equal floats can come out ~1e-17)
        return (v - v.mean()) / sd if sd > 1e-12 * max(1.0, float(v.abs().max())) else v * 0.0

    frames = []
    for outcome, sign in OUTCOMES.items():
        f = rel[["seed", "arch", "lr", "area", "area_norm", "train_acc", "test_acc", "test_loss"]].copy()
        f["outcome"] = outcome
        f.insert(0, "network", [f"seed={s},lr={lr:g}" for s, lr in zip(rel["seed"], rel["lr"])])
        f["area_z"] = z(rel["area_norm"]).to_numpy()
        f["outcome_z"] = z(sign * rel[outcome]).to_numpy()
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def kink(fractions: np.ndarray, curve: np.ndarray, p: float) -> float:
    """The bend of an ablation curve at fraction p: its OLS slope over [p, 2p] minus over [0, p]
    (negative: it falls faster beyond p)."""
    return window_slope(fractions, curve, p, 2 * p) - window_slope(fractions, curve, 0.0, p)


def dropout_kinks(curves, fractions_p=None):
    """M4b, from the mean ablation curves (`reliance_curves`: seed, arch, dropout, fraction,
    accuracy, train_acc): per network and dropout fraction p, the kink = OLS slope over the ablated
    fractions in [p, 2p] minus the slope over [0, p] (`window_slope`). A network trained with
    dropout p is read at its own p (arm `dropout`); a network without dropout (arm `none`, the
    control on the same seeds) at every p of the table's dropout networks (or `fractions_p`), so the
    claim's paired difference is the interaction: the bend at p with dropout minus the same
    contrast without. One row per (seed, p, arm)."""
    import pandas as pd

    ps = sorted(fractions_p if fractions_p is not None else {float(d) for d in curves["dropout"] if float(d) > 0})
    rows = []
    for (seed, arch), g in curves.groupby(["seed", "arch"], sort=True):
        g = g.sort_values("fraction")
        f, acc = g["fraction"].to_numpy(float), g["accuracy"].to_numpy(float)
        own = float(g["dropout"].iloc[0])
        for p in ([own] if own > 0 else ps):
            rows.append({"seed": seed, "dropout": p, "arm": "dropout" if own > 0 else "none", "arch": arch,
                         "slope_below": window_slope(f, acc, 0.0, p), "slope_above": window_slope(f, acc, p, 2 * p),
                         "kink": kink(f, acc, p), "train_acc": float(g["train_acc"].iloc[0])})
    return pd.DataFrame(rows)
