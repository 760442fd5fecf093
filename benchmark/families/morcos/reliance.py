"""morcos2018 M3/M4 probes: reliance on single directions (cumulative ablation) of saved networks.

For every saved network (a final one or a training checkpoint):
* the cumulative-ablation curve on the training set (the labels trained on, the first
  `eval_subset` examples of the training subset the network saw), `orders` random orders over all
  hidden units, as in M2 (`benchmark.probes.ablation.cumulative_ablation_curve`);
* `area`: its trapezoidal area; `area_norm` = area / unablated accuracy, so that the area measures
  robustness (the share of accuracy kept), not accuracy a second time;
* test accuracy and test loss (cross-entropy), and, for final networks, the mean class selectivity
  of the hidden units (post-ReLU, test set, as in M1).
Batch-norm networks: their BN statistics are frozen on every training example the network saw
(unablated network) before anything is measured (`benchmark.models.morcos_variants.freeze_batch_norm`), so an
ablated unit shifts the next layer exactly as in an eval-mode network; BN never re-normalizes the
ablated network.

Tables (rows per network):
  reliance        final networks: conditions, area, area_norm, accuracies (train_acc: on every
                  training example seen), test loss, selectivity
  reliance_curves final networks: mean accuracy at each ablated fraction (figures)
  reliance_scores final networks, long form for paired tests (M4a): measure in {area_norm,
                  nonselectivity = 1 - mean selectivity}, score (larger = the claim's direction)
  dropout_slopes  final dropout networks (M4b): OLS slope of the mean curve over the ablated
                  fractions in [0, p] ("below") and in [p, 2p] ("above"), p = the dropout fraction
  course          checkpoints (M3b): epoch, area, area_norm, test loss, test accuracy
"""

from __future__ import annotations

import math

import numpy as np
import torch
from benchmark.data.splits import Split
from benchmark.models.morcos_variants import MLPVariant, freeze_batch_norm
from benchmark.probes.ablation import area_under_curve, cumulative_ablation_curve
from benchmark.probes.selectivity import selectivity_index


from benchmark.config import RelianceProbe  # noqa: E402  (params models live in benchmark.config)


def dropout_of(arch: str) -> float:
    return float(arch.split("=", 1)[1]) if arch.startswith("mlp+dropout=") else 0.0


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
        return {"course": [{**row, "epoch": meta["epoch"]}]}
    with torch.no_grad():
        acts = model.activations(x_te)
    si = torch.cat([selectivity_index(a, y_te, split.n_classes) for a in acts])
    row["selectivity"] = float(si.mean())
    row["epochs"] = meta["epoch"]
    cond["train_acc"] = train_acc  # carried into every table, for the claims' fit precondition
    out = {"reliance": [row],
           "reliance_curves": [{**cond, "fraction": float(f), "accuracy": float(a)} for f, a in zip(fractions, mean_curve)],
           "reliance_scores": [{**cond, "measure": "area_norm", "score": row["area_norm"]},
                               {**cond, "measure": "nonselectivity", "score": 1.0 - row["selectivity"]}]}
    if p > 0:
        out["dropout_slopes"] = [{**cond, "window": "below", "slope": window_slope(fractions, mean_curve, 0.0, p)},
                                 {**cond, "window": "above", "slope": window_slope(fractions, mean_curve, p, 2 * p)}]
    return out


__all__ = ["RelianceProbe", "reliance", "test_metrics", "dropout_of", "window_slope", "MLPVariant"]


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


def course_summary(course, window: int, losses=None):
    """M3b, per network: the epoch of minimum test loss (t_min, over the checkpoints), and the OLS
    slope of area_norm over the checkpoints in [t_min - window, t_min] ("before") and in
    [t_min, t_min + window] ("after"), each expressed as the change over `window` epochs. Also
    (descriptive) the epoch of maximum area_norm over the ablated checkpoints, its lag behind
    t_min, and how much the test loss rose after its minimum (last checkpoint minus minimum: the
    setup overfits if > 0). Two rows per network (window = before | after); a window with fewer
    than 3 checkpoints gets slope 0 and its count in `checkpoints`: the claim's precondition (at
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
        ep, area = g["epoch"].to_numpy(float), g["area_norm"].to_numpy(float)
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
        t_max = ep[int(np.argmax(area))]
        common = {"seed": seed, "arch": arch, "lr": lr, "t_min_loss": t_min, "t_max_area": t_max,
                  "lag": t_max - t_min, "test_loss_rise": rise, "last_epoch": float(np.max(all_ep))}
        for name, lo, hi in (("before", t_min - window, t_min), ("after", t_min, t_min + window)):
            keep = (ep >= lo) & (ep <= hi)
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
