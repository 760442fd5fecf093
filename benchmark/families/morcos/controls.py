"""The morcos family's instrument controls: each instrument that decides a morcos2018 claim finds an
effect built into a network whose answer is known (positive) and finds nothing where there is none
(negative), before it may decide anything (benchmark.controls: declared, decided on one-sided
intervals, an inconclusive control counts as failed).

    python -m benchmark.stages.probe morcos controls
Output: evidence/controls/morcos.csv (one row per control)

Every control runs on hand-built networks (benchmark.families.morcos.planted) and their inputs,
a few milliseconds each, never on the suite's trained networks, so it needs no training and no
dataset. Its replicates are networks built from seeds that move with the draw (`seed_offset`,
benchmark.replicates.sample_seed). The instruments are called here exactly as the probes call
them (the functions below, imported by name, are what a mutation test breaks).

Every margin is declared with its source before the control runs: a claim's own SESOI or bound
where the control guards that claim's statistic, otherwise the built-in effect's size.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark import replicates
from benchmark.controls import Control, ControlResult, decide_all, decide_and_write
from benchmark.families.morcos.noise import noise_area, noisy_accuracy_curve
from benchmark.families.morcos.planted import class_signal_split, redundant_copies, selective_units_decide
from benchmark.families.morcos.reliance import chance_corrected_area, kink
from benchmark.probes.ablation import area_under_curve, cumulative_ablation_curve, single_unit_importance
from benchmark.measures.selectivity import class_information, selectivity_index, selectivity_null
from benchmark.steps import cli

C = 10        # classes of the planted networks' inputs
SEEDS = 8     # replicates (planted networks) per control
SEEDS_PERMUTED = 40  # correlation.permuted_pairs: its planted layers have 20 units (the first run, 8 networks: inconclusive)
FRACTIONS = np.linspace(0.0, 1.0, 11)
ORDERS = 5
NOISE_LEVELS = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0])  # as params.yaml probes.noise_robustness
DILUTION = 0.8   # share of evaluation labels replaced by random ones in course.diluted_to_chance

SEL, INFO, IMP, CORR = ("class selectivity above its permuted-label level", "mutual information with the class",
                        "single-unit ablation",
                        "per-network rank correlation (selectivity or information vs importance)")
CUM, COURSE, KINK, NOISE = ("cumulative random ablation (area)", "chance-corrected ablation area (M3b)",
                            "bend of the ablation curve at the dropout fraction (M4b)",
                            "Gaussian noise on every unit (area)")

CONTROLS: tuple[Control, ...] = (
    Control("selectivity.planted_units", SEL, "positive",
            "units that fire for one class only score >= 0.3 above units reading a mixture of all classes "
            "(built in: about 1 vs about 0.2)", "at_least", 0.3),
    Control("selectivity.shuffled_labels", SEL, "negative",
            "with the labels shuffled across examples the same two kinds of unit score alike: difference "
            "within +-0.1 (M1's bound)", "within", 0.1),
    Control("information.planted_units", INFO, "positive",
            "a unit that fires for one class of ten carries >= 0.2 bits (ideal 0.47)", "at_least", 0.2),
    Control("information.shuffled_labels", INFO, "negative",
            "with the labels shuffled, <= 0.05 bits per unit on average (bias-corrected estimate)", "at_most", 0.05),
    Control("importance.planted_unit", IMP, "positive",
            "zeroing a unit that alone carries its class loses >= 0.05 accuracy (built in: 0.1, one class of ten)",
            "at_least", 0.05),
    Control("importance.no_outgoing_weight", IMP, "negative",
            "zeroing a unit with no path to the output moves accuracy by <= 0.001 (built in: 0)", "at_most", 0.001),
    Control("correlation.planted", CORR, "positive",
            "networks whose selective units alone carry the decision: rho(selectivity, importance) >= 0.3",
            "at_least", 0.3),
    Control("correlation.permuted_pairs", CORR, "negative",
            "importance permuted across the units of each layer: rho within +-0.1 (M1's bound)", "within", 0.1),
    Control("cumulative.copies", CUM, "positive",
            "4 copies of every class's path keep >= 0.1 more area than 1 copy (M2's memorizer)", "at_least", 0.1),
    Control("cumulative.same_structure", CUM, "negative",
            "two sets of networks with 2 copies each (other units, other orders): area difference within "
            "+-0.05 (M2's SESOI)", "within", 0.05),
    Control("course.copies", COURSE, "positive",
            "4 copies keep >= 0.1 more chance-corrected area than 1 copy", "at_least", 0.1),
    Control("course.diluted_to_chance", COURSE, "negative",
            f"the same networks scored with {DILUTION:.0%} of their labels random (accuracy diluted toward chance, "
            "reliance unchanged): area change within +-0.05 (M3b's SESOI; area / unablated accuracy rises by "
            "about 0.1 here)", "within", 0.05),
    Control("kink.planted", KINK, "positive",
            "a curve flat up to p = 0.2, then falling at slope -1: bend <= -0.5 (built in: -1)", "at_most", -0.5),
    Control("kink.straight_line", KINK, "negative",
            "a straight curve (slope -0.5): bend within +-0.05", "within", 0.05),
    Control("noise.copies", NOISE, "positive",
            "4 copies of every class's path keep >= 0.05 more noise area than 1 copy (M2's SESOI)", "at_least", 0.05),
    Control("noise.same_structure", NOISE, "negative",
            "two sets of networks with 2 copies each: noise-area difference within +-0.05 (M2's SESOI)", "within", 0.05),
)
BY_ID = {c.id: c for c in CONTROLS}


def _xy(split):
    return torch.from_numpy(split.x_test), torch.from_numpy(split.y_test)


def _shuffled(y: torch.Tensor, seed: int) -> torch.Tensor:
    return y[torch.from_numpy(np.random.default_rng([seed, 3]).permutation(len(y)))]


def _spearman_z(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(np.arctanh(np.clip(spearmanr(a, b)[0], -0.999999, 0.999999)))


def excess_selectivity(acts: torch.Tensor, y: torch.Tensor, seed: int) -> np.ndarray:
    """The selectivity the claims read: the index above its level under permuted labels."""
    return (selectivity_index(acts, y, C) - selectivity_null(acts, y, C, seed=seed)).numpy()


@torch.no_grad()
def unit_measures(seeds: list[int], permuted_seeds: list[int]) -> dict[str, list[float]]:
    """Selectivity, information, importance and their correlation on the planted networks
    (`selective_units_decide`: units 0..C-1 of each layer fire for one class and alone carry the
    decision; the others read mixtures and reach no output)."""
    split = class_signal_split(n_per_class=40)
    x, y = _xy(split)
    out: dict[str, list[float]] = {k: [] for k in ("sel_planted", "sel_shuffled", "info_planted", "info_shuffled",
                                                    "imp_planted", "imp_silent", "corr_planted", "corr_permuted")}
    for seed in seeds:
        model = selective_units_decide(seed)
        acts = model.activations(x)
        ys = _shuffled(y, seed)
        z_planted, z_perm = [], []
        for layer, a in enumerate(acts):
            si = excess_selectivity(a, y, seed * 10 + layer)
            si_s = excess_selectivity(a, ys, seed * 10 + layer)
            imp = single_unit_importance(model, x, y, layer)
            out["sel_planted"].append(float(si[:C].mean() - si[C:].mean()))
            out["sel_shuffled"].append(float(si_s[:C].mean() - si_s[C:].mean()))
            out["info_planted"].append(float(class_information(a, y, C).numpy()[:C].mean()))
            out["info_shuffled"].append(float(class_information(a, ys, C).numpy().mean()))
            if layer == len(acts) - 1:  # the last layer's planted units vote directly; its mixtures reach nothing
                out["imp_planted"].append(float(imp[:C].mean()))
                out["imp_silent"].append(float(np.abs(imp[C:]).max()))
            z_planted.append(_spearman_z(si, imp))
        out["corr_planted"].append(float(np.tanh(np.mean(z_planted))))
    for seed in permuted_seeds:
        model = selective_units_decide(seed)
        z = []
        for layer, a in enumerate(model.activations(x)):
            imp = single_unit_importance(model, x, y, layer)
            z.append(_spearman_z(excess_selectivity(a, y, seed * 10 + layer),
                                 np.random.default_rng([seed, 5, layer]).permutation(imp)))
        out["corr_permuted"].append(float(np.tanh(np.mean(z))))
    return out


def _curve(model, x, y, seed: int) -> np.ndarray:
    return cumulative_ablation_curve(model, x, y, FRACTIONS, np.random.default_rng([seed, 7]), ORDERS).mean(0)


@torch.no_grad()
def ablation_measures(seeds: list[int]) -> dict[str, list[float]]:
    """Cumulative ablation (area), its chance-corrected area and Gaussian noise on the redundant-copies
    networks (each class's input copied into k units of both layers; fewer copies, more reliance)."""
    split = class_signal_split(n_per_class=40)
    x, y = _xy(split)
    big = class_signal_split(n_per_class=400, seed=1)  # the dilution's random labels need many examples
    xb, yb = _xy(big)
    out: dict[str, list[float]] = {k: [] for k in ("cum_copies", "cum_same", "course_copies", "course_diluted",
                                                    "noise_copies", "noise_same")}
    for seed in seeds:
        nets = {k: redundant_copies(k, seed) for k in (1, 2, 4)}
        other = redundant_copies(2, seed + 10_000)
        curves = {k: _curve(m, x, y, seed) for k, m in nets.items()}
        curve_other = _curve(other, x, y, seed + 10_000)
        area = {k: float(area_under_curve(FRACTIONS, c)) for k, c in curves.items()}
        out["cum_copies"].append(area[4] - area[1])
        out["cum_same"].append(area[2] - float(area_under_curve(FRACTIONS, curve_other)))
        cc = {k: chance_corrected_area(FRACTIONS, c, C) for k, c in curves.items()}
        out["course_copies"].append(cc[4] - cc[1])
        rng = np.random.default_rng([seed, 9])
        diluted = yb.clone()
        idx = rng.choice(len(yb), int(round(DILUTION * len(yb))), replace=False)
        diluted[torch.from_numpy(idx)] = torch.from_numpy(rng.integers(0, C, len(idx)))
        clean_cc = chance_corrected_area(FRACTIONS, _curve(nets[2], xb, yb, seed), C)
        out["course_diluted"].append(chance_corrected_area(FRACTIONS, _curve(nets[2], xb, diluted, seed), C) - clean_cc)
        noise = {k: noise_area(NOISE_LEVELS, noisy_accuracy_curve(nets[k], x, y, NOISE_LEVELS,
                                                                  np.random.default_rng([seed, 11]), 3).mean(0))
                 for k in (1, 2, 4)}
        noise_other = noise_area(NOISE_LEVELS, noisy_accuracy_curve(other, x, y, NOISE_LEVELS,
                                                                    np.random.default_rng([seed + 10_000, 11]), 3).mean(0))
        out["noise_copies"].append(noise[4] - noise[1])
        out["noise_same"].append(noise[2] - noise_other)
    return out


def kink_measures() -> dict[str, list[float]]:
    """The bend statistic on curves whose bend is known (deterministic: one value each)."""
    f = np.round(np.arange(0.0, 0.62, 0.02), 2)
    planted = np.where(f <= 0.2, 1.0, 1.0 - (f - 0.2))
    return {"kink_planted": [kink(f, planted, 0.2)], "kink_straight": [kink(f, 1.0 - 0.5 * f, 0.2)]}


VALUES = {"selectivity.planted_units": "sel_planted", "selectivity.shuffled_labels": "sel_shuffled",
          "information.planted_units": "info_planted", "information.shuffled_labels": "info_shuffled",
          "importance.planted_unit": "imp_planted", "importance.no_outgoing_weight": "imp_silent",
          "correlation.planted": "corr_planted", "correlation.permuted_pairs": "corr_permuted",
          "cumulative.copies": "cum_copies", "cumulative.same_structure": "cum_same",
          "course.copies": "course_copies", "course.diluted_to_chance": "course_diluted",
          "kink.planted": "kink_planted", "kink.straight_line": "kink_straight",
          "noise.copies": "noise_copies", "noise.same_structure": "noise_same"}


GROUPS = ("units", "ablation", "kink")  # which measures a control reads (units: selectivity .. correlation)


def group_of(control_id: str) -> str:
    return "kink" if control_id.startswith("kink.") else (
        "ablation" if control_id.split(".")[0] in ("cumulative", "course", "noise") else "units")


def measure(params: dict | None = None, groups: tuple[str, ...] = GROUPS) -> dict[str, list[float]]:
    """The values of the controls of `groups` (all by default), by control id."""
    params = params or {}
    seeds = [replicates.sample_seed(params, 1000, i) for i in range(SEEDS)]
    permuted = [replicates.sample_seed(params, 2000, i) for i in range(SEEDS_PERMUTED)]
    values: dict[str, list[float]] = {}
    if "units" in groups:
        values.update(unit_measures(seeds, permuted))
    if "ablation" in groups:
        values.update(ablation_measures(seeds))
    if "kink" in groups:
        values.update(kink_measures())
    return {c.id: values[VALUES[c.id]] for c in CONTROLS if group_of(c.id) in groups}


def run(params: dict | None = None, groups: tuple[str, ...] = GROUPS) -> list[ControlResult]:
    """The controls of `groups` (all by default), decided (benchmark.controls.decide), in declaration order."""
    return decide_all([c for c in CONTROLS if group_of(c.id) in groups], measure(params, groups))


@cli
def main(argv=None) -> int:
    from benchmark.config import load_params
    from benchmark.determinism import pin_threads

    if argv:
        raise SystemExit(f"the controls step takes no arguments, got {argv}")
    pin_threads(1)
    results, _ = decide_and_write("morcos", CONTROLS, measure(load_params()))
    failed = [r.control.id for r in results if not r.passed]
    print(f"FAILED: {', '.join(failed)}" if failed else "all pass")
    return 0
