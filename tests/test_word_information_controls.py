"""The word-information family's instruments on known answers: rank agreement, the controls on a
small network (built-in answers found, nothing found where there is none), and one mutation per
instrument (perturbation entropy, gradient saliency, rank agreement) that fails its control, turns
the claims relying on it inconclusive and fails the gate in both modes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from benchmark.controls import decide
from benchmark.families.word_information import controls as WC
from benchmark.families.word_information import measure as M
from benchmark.families.word_information.measure import PerturbationConfig, rank_agreement, within_sentence_spearman

PC = PerturbationConfig(noise_scale=2.0, relative_scale=True, lr=0.05, iterations=60, projections=4)


def test_within_sentence_spearman_is_the_mean_of_per_sentence_rank_correlations():
    rng = np.random.default_rng(0)
    s = np.repeat(np.arange(6), 7)
    a, b = rng.normal(size=42), rng.normal(size=42)
    b[7:14] = a[7:14] ** 3          # the same order: 1
    b[14:21] = 2.0                  # constant: ranks nothing, counts 0
    b[21:28] = np.round(b[21:28])   # ties: average ranks
    expected = [0.0 if k == 2 else spearmanr(a[s == k], b[s == k])[0] for k in range(6)]
    assert within_sentence_spearman(a, b, s) == pytest.approx(float(np.mean(expected)))
    assert within_sentence_spearman(a, a[::-1][::-1], s) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        within_sentence_spearman(np.r_[a[:-1], np.nan], b, s)


def _words(rng, same_order: bool):
    rows = []
    base = rng.normal(size=(4, 8))  # sentence x word: one ranking shared by every layer and model
    for model in M.PAPER_MODELS:
        for seed in (1, 2):
            for layer in (1, 2, 3):
                for s in range(4):
                    for i in range(8):
                        noise = rng.normal()
                        rows.append({"model": model, "seed": seed, "layer": layer, "sentence": s, "position": i,
                                     "entropy": base[s, i] if same_order else noise, "saliency": noise})
    return pd.DataFrame(rows)


def test_rank_agreement_reads_planted_rankings():
    rng = np.random.default_rng(1)
    acc = {(m, s): 0.9 for m in M.PAPER_MODELS for s in (1, 2)}
    t = rank_agreement(_words(rng, True), acc)
    assert list(t.stratum) == ["across_layers", "across_models"] * 2
    assert np.allclose(t.perturbation, 1.0) and (t.saliency.abs() < 0.5).all()
    assert np.allclose(t.y, t.perturbation - t.saliency) and (t.test_accuracy == 0.9).all()
    none = rank_agreement(_words(rng, False), acc)
    assert (none.perturbation.abs() < 0.5).all()


class _Tiny(torch.nn.Module):
    """Two layers that mix the words of a sentence (a cumulative sum), a stand-in network."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.emb = torch.nn.Embedding(20, 6)
        with torch.no_grad():  # from the test's generator, not the global one: the same network every run
            self.emb.weight.copy_(torch.randn(20, 6, generator=g))
        self.w = torch.nn.Parameter(torch.randn(6, 6, generator=g) / 6 ** 0.5)

    def embedding_table(self):
        return self.emb.weight

    def features(self, x, mask):
        h1 = torch.tanh(x @ self.w) * mask.unsqueeze(-1)
        return [h1, torch.tanh(h1.cumsum(1))]


def _model_controls(pc=PC):
    net = _Tiny()
    for p in net.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(2)
    tokens = torch.from_numpy(rng.integers(0, 20, size=(6, 9)))
    mask = torch.ones(6, 9, dtype=torch.bool)
    relevant = rng.random((6, 9)) < 0.4
    weights = WC.planted_weights({"seed_offset": 0}, 5, mask.numpy())
    x = net.emb(tokens)
    return WC.model_controls(net.features, x, mask, M.scale_of(pc, net), relevant, mask.numpy(), weights, pc, 3)


def test_model_controls_find_the_built_in_answer_and_nothing_else():
    v = _model_controls()
    assert v["perturbation.relevant_only"] > 0.95 and v["saliency.relevant_only"] == 1.0
    assert v["perturbation.known_weights"] > 0.5 and v["saliency.known_weights"] > 0.9
    assert v["perturbation.ignores_input"] == 0.0 and v["saliency.ignores_input"] == 0.0  # every word tied


G1 = "guan2019-measure-consistent.yaml"
G2 = "guan2019-irrelevant-words-discarded.yaml"
G3 = "guan2019-pretrained-transformer-focuses.yaml"
G4 = "guan2019-measure-ranks-consistently.yaml"


def _mutant(monkeypatch, name: str, old: str, new: str):
    """tests.mutation.mutant on the measure module; its dataclasses (string annotations) look their
    module up in sys.modules, so the mutant's module name is registered there for the test."""
    import sys
    import types

    from tests.mutation import mutant

    monkeypatch.setitem(sys.modules, f"{M.__name__}__mutant", types.ModuleType(f"{M.__name__}__mutant"))
    return mutant(M, name, old, new)


def _claim_sees(tmp_path, monkeypatch, control_id: str, values_good, values_bad, claim: str = G2):
    """A claim naming the control: reproduced on planted evidence while the control passes,
    inconclusive (control_failed) once the mutated instrument's values fail it; the gate fails in
    both modes against the unmutated baseline."""
    from benchmark.atomic import write_json
    from benchmark.claims.registry import load_claim
    from benchmark.controls import write
    from benchmark.evaluate import evaluate
    from benchmark.gate import run_gate, write_baseline
    from tests.conftest import REPO
    from tests.mutation import MACHINES, entry
    from tests.planted import planted_table

    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(tmp_path))
    path = REPO / "claims" / claim
    spec = load_claim(path)
    assert f"word_information/{control_id}" in spec.controls
    table = tmp_path / "t.csv"
    planted_table(spec, "claimed").to_csv(table, index=False)
    ctl = WC.BY_ID[control_id]
    others = [decide(c, [0.0, 0.0] if c.rule == "within" else [1.0, 1.0]) for c in WC.CONTROLS if c.id != control_id]
    write("word_information", [decide(ctl, values_good), *others], tmp_path)
    good, _ = evaluate(path, spec, table)
    assert good.verdict.value == "reproduced", good.reason
    write("word_information", [decide(ctl, values_bad), *others], tmp_path)
    bad, _ = evaluate(path, spec, table)
    assert bad.verdict.value == "inconclusive" and bad.reason_code.value == "control_failed"
    assert f"word_information/{control_id}" in bad.reason
    for mode in ("exact", "statistical"):
        claims = tmp_path / f"claims-{mode}.json"
        write_json(claims, {"claims": [entry(spec, good, 8)], "environment": {"machine": MACHINES["exact"]}})
        base = write_baseline(claims, tmp_path / f"base-{mode}.json")
        write_json(claims, {"claims": [{**entry(spec, bad, 8), "reason_code": "control_failed"}],
                            "environment": {"machine": MACHINES[mode]}})
        assert not run_gate(base, claims).ok


def _mutated_fails(monkeypatch, tmp_path, instrument: str, name: str, old: str, new: str, sign: float):
    """The mutated instrument fails both its positive controls; a claim that can decide (G4, which
    names every instrument's controls; G2 and G3 are declared undecidable at embedded scale, always
    inconclusive) turns inconclusive."""
    good = _model_controls()
    monkeypatch.setattr(WC, name, _mutant(monkeypatch, name, old, new))
    bad = _model_controls()
    for cid in (f"{instrument}.relevant_only", f"{instrument}.known_weights"):
        assert decide(WC.BY_ID[cid], [bad[cid], bad[cid] + sign * 0.01]).outcome == "fail", (cid, bad[cid])
    cid = f"{instrument}.known_weights"
    _claim_sees(tmp_path, monkeypatch, cid, [good[cid], good[cid]], [bad[cid], bad[cid] + sign * 0.01], claim=G4)


def test_mutated_perturbation_entropy_fails_its_control_and_its_claims(tmp_path, monkeypatch):
    _mutated_fails(monkeypatch, tmp_path, "perturbation", "perturbation_entropy", "h = torch.log(scale * torch.sigmoid(",
                   "h = -torch.log(scale * torch.sigmoid(", -1.0)


def test_mutated_gradient_saliency_fails_its_control_and_its_claims(tmp_path, monkeypatch):
    _mutated_fails(monkeypatch, tmp_path, "saliency", "gradient_measures", "saliency = grad.pow(2).sum(-1).mean(1).sqrt()",
                   "saliency = -grad.pow(2).sum(-1).mean(1).sqrt()", -1.0)


def test_claims_name_their_instruments_controls():
    from benchmark.claims.registry import load_claim
    from tests.conftest import REPO

    for claim, instruments in ((G1, ("perturbation", "saliency")), (G2, ("perturbation",)), (G3, ("perturbation",)),
                               (G4, ("perturbation", "saliency", "agreement"))):
        named = {c.split("/")[1].split(".")[0] for c in load_claim(REPO / "claims" / claim).controls}
        assert named == set(instruments), (claim, named)


def test_mutated_rank_agreement_fails_its_control(tmp_path, monkeypatch):
    """|rho| instead of rho: unrelated rankings now agree; the shuffled-words control fails."""
    rng = np.random.default_rng(4)
    words = _words(rng, True).assign(relevant=lambda d: d.position % 3 == 0)
    params = {"seed_offset": 0}
    good = WC.shuffled_controls(words, params, 7)["agreement.shuffled_words"]
    broken = _mutant(monkeypatch, "within_sentence_spearman", "r = np.where(den > 0, num / den.where(den > 0, 1.0), 0.0)",
                    "r = np.abs(np.where(den > 0, num / den.where(den > 0, 1.0), 0.0))")
    monkeypatch.setattr(WC, "within_sentence_spearman", broken)
    bad = WC.shuffled_controls(words, params, 7)["agreement.shuffled_words"]
    ctl = WC.BY_ID["agreement.shuffled_words"]
    assert decide(ctl, good).outcome == "pass" and decide(ctl, bad).outcome == "fail"
    _claim_sees(tmp_path, monkeypatch, "agreement.shuffled_words", good, bad, claim=G4)
