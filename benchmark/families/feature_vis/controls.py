"""The family's instrument controls (benchmark.controls): before a feature-visualization measure may
decide a claim, it must find an effect built in (positive) and find nothing where there is none
(negative), each declared here with its outcome and margin before it ran.

    python -m benchmark.stages.probe feature_vis controls
Writes evidence/controls/feature_vis.csv (one row per control) and
evidence/feature_vis/controls_values.csv (every control's per-replicate values).

The margins are the claims' own: a positive control must show at least the smallest effect of
interest (SESOI) of the claims its instrument decides; a negative control must stay inside it
(two one-sided tests), or below the claims' null. Each instrument's measure is an argument of its
control function (default: the family's own), so a test can hand a broken one in
(tests/test_feature_vis_controls.py).

| instrument | positive | negative |
|---|---|---|
| high-frequency share | real scenes vs the same scenes low-pass filtered | two halves of the real scenes of a class |
| softmax gain split | only the other logits lowered | only the target logit raised |
| segmenter concept share | real scenes of the class vs of the other classes | logit vs softmax images of random-init networks |
| segmenter label distance | batches of different classes vs one scene jittered | two batches drawn the same way |
| activation cost | a channel's top real scenes vs random ones | two random samples of real scenes |
| transfer | real scenes of the class under every network | adversarial images of one network under the others |
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from benchmark import controls as core
from benchmark import replicates
from benchmark.atomic import write_csv
from benchmark.families.feature_vis.config import base_seed
from benchmark.families.feature_vis.inputs import Inputs, random_init_nets, step_inputs
from benchmark.families.feature_vis.measures import (activation_cost, concept_share, hf_share, label_distance,
                                                     softmax_gain_split, transfer)
from benchmark.families.feature_vis.optimization import Job, seed_for, visualize
from benchmark.families.feature_vis.probe import FOURIER_T, SOFTMAX, optim_config, top_units
from benchmark.parallel import map_ordered
from benchmark.probes.attacks import pgd_targeted
from benchmark.paths import evidence_path
from benchmark.steps import cli

FAMILY = "feature_vis"
SEED = 6000                 # the controls' sampling seed (+ seed_offset)
LN_125 = math.log(1.25)     # olah2017.regularization-removes-high-frequencies: SESOI
SHARE_SESOI = 0.1           # concept share, label distance, gain share: the claims' SESOI (Cohen's h >= 0.2)
COST_BOUND = 0.2            # olah2017.diversity-costs-little: bound
TRANSFER_SESOI = 0.05       # the transfer claims' SESOI
BLUR_SIGMA = 1.0            # px: the low-pass filter of the positive high-frequency control
LOGIT_STEP = 2.0            # nats: the built-in logit change of the gain-split controls
GROUPS = 16                 # batches per label-distance control
BATCH = 4                   # images per batch (the diversity batches' size at embedded scale)
JITTER = 2                  # px: the largest shift of a repeated scene's copies
RANDOM_INIT = 4             # random-init networks visualized (logit and softmax arms, every class)
ATTACK_PER_CLASS = 2        # held-out scenes per visualized class attacked on each network
ATTACK = {"eps": 0.25, "step": 0.03, "steps": 20}   # classifier_dissection's B7 attack (32/255 of the range)

CONTROLS = (
    core.Control("hf_share.low_pass_real", "high-frequency share (power above half Nyquist)", "positive",
                 f"real scenes over the same scenes blurred (Gaussian, sigma {BLUR_SIGMA:g} px): log ratio of the "
                 "per-class mean shares at least ln 1.25 (the claim's SESOI)", "at_least", LN_125,
                 note="replicate: visualized class"),
    core.Control("hf_share.real_halves", "high-frequency share (power above half Nyquist)", "negative",
                 "two halves (even / odd) of a class's real scenes: log ratio within +-ln 1.25 (the claim's SESOI)",
                 "within", LN_125, note="replicate: visualized class"),
    core.Control("gain_split.others_lowered", "softmax gain split (Shapley)", "positive",
                 f"each network's logits on real scenes with only the other logits lowered by {LOGIT_STEP:g}: share "
                 "from the others minus 1/2 at least 0.1 (the claim's SESOI)", "at_least", SHARE_SESOI,
                 note="replicate: trained network"),
    core.Control("gain_split.target_raised", "softmax gain split (Shapley)", "negative",
                 f"the same logits with only the target raised by {LOGIT_STEP:g}: share from the others minus 1/2 "
                 "at most 0 (the claim's null)", "at_most", 0.0, note="replicate: trained network"),
    core.Control("concept_share.real_class_images", "segmenter concept share", "positive",
                 "real scenes of a class minus real scenes of the other visualized classes: share of the class's "
                 "concepts at least 0.1 (the claim's SESOI)", "at_least", SHARE_SESOI, note="replicate: visualized class"),
    core.Control("concept_share.random_init_networks", "segmenter concept share", "negative",
                 f"logit minus softmax images of {RANDOM_INIT} random-init networks (no class to show): within +-0.1 "
                 "(the claim's SESOI)", "within", SHARE_SESOI, note="replicate: random-init network"),
    core.Control("label_distance.mixed_vs_repeated", "segmenter label-map distance within a batch", "positive",
                 f"batches of {BATCH} real scenes of different classes minus one scene and {BATCH - 1} copies shifted "
                 f"by up to {JITTER} px: at least 0.1 (the claim's SESOI)", "at_least", SHARE_SESOI,
                 note="replicate: batch"),
    core.Control("label_distance.same_design_batches", "segmenter label-map distance within a batch", "negative",
                 f"two batches of {BATCH} real scenes of one class drawn the same way: within +-0.1 (the claim's SESOI)",
                 "within", SHARE_SESOI, note="replicate: batch pair"),
    core.Control("activation_cost.real_top_vs_random", "activation cost (ratio of totals)", "positive",
                 f"a channel's {BATCH} most activating held-out scenes against {BATCH} random ones: cost at least "
                 "0.2 (the claim's bound)", "at_least", COST_BOUND, note="replicate: trained network"),
    core.Control("activation_cost.real_random_samples", "activation cost (ratio of totals)", "negative",
                 f"two disjoint random samples of {BATCH} held-out scenes: cost within +-0.1 (half the claim's bound)",
                 "within", COST_BOUND / 2, note="replicate: trained network"),
    core.Control("transfer.real_class_images", "transfer (class probability under the networks)", "positive",
                 "real held-out scenes of the visualized classes: mean probability of their class at least 1/2 "
                 "(every network's top class)", "at_least", 0.5, note="replicate: scoring network"),
    core.Control("transfer.adversarial_one_network", "transfer (class probability under the networks)", "negative",
                 f"targeted PGD images of one network (L-inf eps {ATTACK['eps']:g}, {ATTACK['steps']} steps): gain in "
                 "the target's probability under the other networks at most 0.05 (the transfer claims' SESOI)",
                 "at_most", TRANSFER_SESOI, note="replicate: attacked network"),
)
BY_ID = {c.id: c for c in CONTROLS}


# ------------------------------------------------------------------ high-frequency share
def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel of x (N, 3, H, W) convolved with a Gaussian (radius 3 sigma, reflected border)."""
    r = max(1, int(math.ceil(3 * sigma)))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=x.dtype) ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


def hf_values(real: dict[int, torch.Tensor], hf=hf_share) -> dict[str, list[float]]:
    """Per class: log(mean share of the scenes / of the blurred scenes); log(even half / odd half)."""
    pos, neg = [], []
    for x in real.values():
        pos.append(float(np.log(np.mean(hf(x)) / np.mean(hf(gaussian_blur(x, BLUR_SIGMA))))))
        neg.append(float(np.log(np.mean(hf(x[0::2])) / np.mean(hf(x[1::2])))))
    return {"hf_share.low_pass_real": pos, "hf_share.real_halves": neg}


# ------------------------------------------------------------------ softmax gain split
def others_share(from_others: np.ndarray, from_target: np.ndarray) -> np.ndarray:
    """The claim's statistic per image: of the parts that raised log p, the others' share, minus 1/2
    (NaN where nothing raised it)."""
    up_o, up_t = np.clip(from_others, 0, None), np.clip(from_target, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(up_o + up_t > 0, up_o / (up_o + up_t) - 0.5, np.nan)


@torch.no_grad()
def gain_values(nets: list, real: dict[int, torch.Tensor], split=softmax_gain_split) -> dict[str, list[float]]:
    """Per network: the statistic's mean over real scenes when only the others fall / only the target rises."""
    x = torch.cat(list(real.values()))
    tgt = np.concatenate([np.full(len(v), c) for c, v in real.items()])
    rows = np.arange(len(tgt))
    pos, neg = [], []
    for _, m in nets:
        z0 = m(x).double().numpy()
        others = z0 - LOGIT_STEP
        others[rows, tgt] = z0[rows, tgt]
        raised = z0.copy()
        raised[rows, tgt] += LOGIT_STEP
        for z1, out in ((others, pos), (raised, neg)):
            s = split(z0, z1, tgt)
            out.append(float(np.nanmean(others_share(s["from_others"], s["from_target"]))))
    return {"gain_split.others_lowered": pos, "gain_split.target_raised": neg}


# ------------------------------------------------------------------ segmenter concept share
def concept_values(labels: dict[int, torch.Tensor], concepts: dict[int, list[int]], share=concept_share) -> list[float]:
    """Per class: mean share of its concepts in its own real scenes minus in the other classes' scenes."""
    out = []
    for c, own in labels.items():
        rest = torch.cat([v for k, v in labels.items() if k != c])
        out.append(float(np.mean(share(own, concepts[c])) - np.mean(share(rest, concepts[c]))))
    return out


def _objective_images(ctx, item) -> torch.Tensor:
    """A random-init network's logit-arm and softmax-arm images, one per class, from shared starts."""
    seed, model = item
    cfg, colour, class_index, base = ctx
    jobs = []
    for c in class_index:
        start = seed_for(base, seed, c, 0, 1)
        jobs += [Job(FOURIER_T, c, 2 * c, start), Job(SOFTMAX, c, 2 * c + 1, start)]
    return visualize(model, jobs, colour, optim_config(cfg), seed_for(base, seed, 99))[cfg.steps]


@torch.no_grad()
def random_init_concept_values(images: list[torch.Tensor], labeller, concepts: dict[int, list[int]],
                               class_index: tuple[int, ...], share=concept_share) -> list[float]:
    """Per random-init network: mean over classes of (logit image's concept share - softmax image's)."""
    out = []
    for imgs in images:
        lab = labeller(imgs)
        d = [float(share(lab[2 * i:2 * i + 1], concepts[c])[0] - share(lab[2 * i + 1:2 * i + 2], concepts[c])[0])
             for i, c in enumerate(class_index)]
        out.append(float(np.mean(d)))
    return out


# ------------------------------------------------------------------ segmenter label distance
def label_distance_values(real: dict[int, torch.Tensor], labeller, rng: np.random.Generator,
                          distance=label_distance) -> dict[str, list[float]]:
    """Per batch: distance(different classes) - distance(one scene jittered); per pair of batches
    of one class: distance(first) - distance(second)."""
    classes = list(real)
    pos, neg = [], []
    for _ in range(GROUPS):
        order = rng.permutation(len(classes))
        mixed = torch.stack([real[classes[order[i % len(classes)]]][rng.integers(len(real[classes[order[i % len(classes)]]]))]
                             for i in range(BATCH)])
        base = real[classes[order[0]]][rng.integers(len(real[classes[order[0]]]))]
        shifts = [(0, 0)] + [tuple(int(s) for s in rng.integers(-JITTER, JITTER + 1, 2)) for _ in range(BATCH - 1)]
        repeated = torch.stack([torch.roll(base, s, dims=(1, 2)) for s in shifts])
        pos.append(distance(labeller(mixed)) - distance(labeller(repeated)))
        pool = real[classes[rng.integers(len(classes))]]
        k = min(BATCH, len(pool) // 2)  # fewer only where a class has fewer than 2 x BATCH scenes (fixture runs)
        pick = rng.choice(len(pool), size=2 * k, replace=False)
        neg.append(distance(labeller(pool[pick[:k]])) - distance(labeller(pool[pick[k:]])))
    return {"label_distance.mixed_vs_repeated": pos, "label_distance.same_design_batches": neg}


# ------------------------------------------------------------------ activation cost
@torch.no_grad()
def activation_cost_values(nets: list, reference: torch.Tensor, layer: int, units: int, rng: np.random.Generator,
                           cost=activation_cost) -> dict[str, list[float]]:
    """Per network, over its `units` most active channels (the probe's choice): the cost of a random
    sample of held-out scenes against the channel's top scenes; of one random sample against another."""
    pos, neg = [], []
    for _, m in nets:
        act = m.all_features(reference)[layer - 1].mean(dim=(2, 3)).double().numpy()
        top, rand, a, b = [], [], [], []
        k = min(BATCH, len(reference) // 2)
        for u, _ in top_units(m, reference, layer, units):
            v = act[:, u]
            top.append(np.sort(v)[-k:].mean())
            pick = rng.choice(len(v), size=2 * k, replace=False)
            rand.append(v[pick[:k]].mean())
            a.append(v[pick[:k]].mean())
            b.append(v[pick[k:]].mean())
        top, rand, a, b = map(np.asarray, (top, rand, a, b))
        pos.append(float(np.mean(cost(top, rand, top.mean()))))
        neg.append(float(np.mean(cost(a, b, a.mean()))))
    return {"activation_cost.real_top_vs_random": pos, "activation_cost.real_random_samples": neg}


# ------------------------------------------------------------------ transfer
def transfer_values(nets: list, real: dict[int, torch.Tensor], transfer_fn=transfer) -> tuple[dict[str, list[float]], list[float]]:
    """Per scoring network: mean probability of the class of real scenes; per attacked network: the
    gain in the target's probability under the other networks from its clean scenes to its targeted
    PGD images. Also the attacks' success rate on the attacked network."""
    classes = list(real)
    x = torch.cat(list(real.values()))
    y = np.concatenate([np.full(len(v), c) for c, v in real.items()])
    pos = [float(np.mean(transfer_fn(x, y, [m]))) for _, m in nets]
    neg, success = [], []
    for seed, m in nets:
        with torch.no_grad():
            right = m(x).argmax(1).numpy() == y
        idx = np.concatenate([np.flatnonzero(right & (y == c))[:ATTACK_PER_CLASS] for c in classes])
        target = np.array([classes[(classes.index(c) + 1) % len(classes)] for c in y[idx]])
        clean = x[torch.from_numpy(idx)]
        with torch.enable_grad():
            adv = pgd_targeted(m, clean, torch.from_numpy(target), ATTACK["eps"], ATTACK["step"], ATTACK["steps"])
        others = [o for s, o in nets if s != seed]
        neg.append(float(np.mean(transfer_fn(adv, target, others) - transfer_fn(clean, target, others))))
        with torch.no_grad():
            success.append(float(np.mean(m(adv).argmax(1).numpy() == target)))
    return {"transfer.real_class_images": pos, "transfer.adversarial_one_network": neg}, success


# ------------------------------------------------------------------ the step
def run_controls(params: dict, cfg, inp: Inputs) -> tuple[dict[str, list[float]], list[float]]:
    """Every control's per-replicate values (and the attacks' success rates)."""
    rng = np.random.default_rng(replicates.sample_seed(params, SEED))
    real = {c: inp.real[c] for c in inp.class_index}

    def labeller(images: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return inp.segmenter(images).argmax(1)

    values = hf_values(real)
    values.update(gain_values(inp.nets, real))
    values["concept_share.real_class_images"] = concept_values({c: labeller(v) for c, v in real.items()}, inp.concepts)
    rand = random_init_nets(params, RANDOM_INIT)
    imgs = map_ordered(functools.partial(_objective_images, (cfg, inp.colour, inp.class_index, base_seed(params, cfg))),
                       rand, params.get("workers", 1), desc="random-init visualizations")
    values["concept_share.random_init_networks"] = random_init_concept_values(imgs, labeller, inp.concepts, inp.class_index)
    values.update(label_distance_values(real, labeller, rng))
    values.update(activation_cost_values(inp.nets, inp.reference, cfg.unit_layer, cfg.units, rng))
    tv, success = transfer_values(inp.nets, real)
    values.update(tv)
    return values, success


@cli
def main(argv=None) -> int:
    params, cfg, inp, t0 = step_inputs(argv, __doc__)
    values, success = run_controls(params, cfg, inp)
    results, _ = core.decide_and_write(FAMILY, CONTROLS, values)
    rows = [{"control": cid, "replicate": i, "value": v} for cid, vals in values.items() for i, v in enumerate(vals)]
    rows += [{"control": "transfer.adversarial_one_network:attack_success", "replicate": i, "value": v}
             for i, v in enumerate(success)]
    write_csv(evidence_path(FAMILY, "controls_values"), pd.DataFrame(rows))
    print(f"attack success on the attacked network: {np.mean(success):.3f}")
    print(f"ran {len(results)} controls in {time.perf_counter() - t0:.1f} s")
    return 0
