"""Probe every guan2019 network: perturbation entropy and gradient baselines per word and layer:
the `measures` step of the family (stage probe_word_information).

    python -m benchmark.stages.probe word_information measures
Outputs (evidence/word_information/): word_measures.csv (every word, layer, network),
layer_measures.csv (per network and layer), the claim tables consistency.csv (G1), gap_trend.csv
(G2), final_gap.csv (G3), rank_agreement.csv (G4), section_word_information.md and
entropy_heatmaps.png. The same `sentences` test sentences, drawn by probe.seed + seed_offset, are
probed in every network; noise draws use probe.seed + seed_offset + network seed. Each network is
probed in its own single-threaded process (workers do not change the tables).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from benchmark import replicates
from benchmark.atomic import write_csv, write_text
from benchmark.data import sentiment_corpus as corpus
from benchmark.data.store import data_dir
from benchmark.experiments.store import load_models
from benchmark.errors import ParamsError
from benchmark.families.word_information.config import load_word_params
from benchmark.families.word_information.measure import claim_tables, layer_summary, probe_network, rank_agreement
from benchmark.families.word_information.section import heatmaps, section
from benchmark.families.word_information.training import EXPERIMENT, TrainConfig, network
from benchmark.parallel import map_ordered
from benchmark.paths import evidence_path, models_path, project_root

HEATMAP_SENTENCES = 3


def load_network(state: dict, meta: dict):
    """A saved embedded network, rebuilt from its metadata (eval mode)."""
    tc = TrainConfig(**{k: meta[k] for k in TrainConfig.__dataclass_fields__})
    net = network(meta["model"], tc, meta["max_len"])
    net.load_state_dict(state)
    return net.eval()


def probe_sample(params: dict, probe, n_test: int) -> np.ndarray:
    """The test sentences every network is probed on (sorted indices): `probe.sentences` drawn
    without replacement by the probe's seed under the draw's offset, so a second draw probes
    other sentences."""
    if probe.sentences > n_test:
        raise ParamsError(params.get("_path", "params.yaml"), "word_information.embedded.probe.sentences",
                          f"{probe.sentences} exceeds the {n_test} test sentences")
    rng = np.random.default_rng(replicates.sample_seed(params, probe.seed))
    return np.sort(rng.choice(n_test, probe.sentences, replace=False))


def _probe(job):
    state, meta, test, idx, pc, seed = job
    table = probe_network(load_network(state, meta), test.tokens[idx], test.lengths[idx], test.relevant[idx],
                          corpus.VOCAB, pc, seed)
    return table.assign(sentence=idx[table.sentence.to_numpy()])  # the test corpus's sentence index


def write_outputs(keys, meta, tables, probe: dict, **section_kwargs) -> pd.DataFrame:
    """Both scales: the per-word and per-layer tables, the claim tables, the heatmaps of the
    first model seeds' first sentences and the section; returns the per-layer table."""
    training = pd.read_csv(evidence_path(EXPERIMENT, "training"))
    acc = {(r.model, int(r.seed)): float(r.test_accuracy) for r in training.itertuples()}
    words, layers = [], []
    for k, w in zip(keys, tables):
        model, seed = meta[k]["model"], int(meta[k]["seed"])
        words.append(w.assign(model=model, seed=seed))
        layers.append(layer_summary(w).assign(model=model, seed=seed, test_accuracy=acc[(model, seed)]))
    words = pd.concat(words, ignore_index=True)[["model", "seed", "layer", "sentence", "position", "word", "relevant",
                                                 "entropy", "saliency", "grad_input"]]
    layers = pd.concat(layers, ignore_index=True)
    layers = layers[["model", "seed", "layer"] + [c for c in layers.columns if c not in ("model", "seed", "layer")]]
    write_csv(evidence_path(EXPERIMENT, "word_measures"), words.round(6))
    write_csv(evidence_path(EXPERIMENT, "layer_measures"), layers.round(6))
    for name, frame in claim_tables(layers).items():
        write_csv(evidence_path(EXPERIMENT, name), frame.round(6))
    agreement = rank_agreement(words, acc).round(6)
    write_csv(evidence_path(EXPERIMENT, "rank_agreement"), agreement)
    fig = evidence_path(EXPERIMENT, "entropy_heatmaps").with_suffix(".png")
    first = words[words.seed == words.groupby("model").seed.transform("min")]
    heatmaps(first, sorted(first.sentence.unique())[:HEATMAP_SENTENCES], fig)
    write_text(evidence_path(EXPERIMENT, "section_word_information").with_suffix(".md"),
               section(layers, training, fig.relative_to(project_root()), probe, agreement=agreement,
                       **section_kwargs))
    return layers


def measure(params: dict) -> int:
    """The measure and its baselines on every embedded network, and the section (the `measures` step)."""
    cfg = load_word_params(params)
    p = cfg.probe
    t0 = time.perf_counter()
    nets, meta = load_models(models_path(EXPERIMENT))
    test = corpus.load(data_dir() / cfg.dataset, "test")
    pc = p.perturbation()
    idx = probe_sample(params, p, len(test.labels))
    keys = sorted(nets, key=lambda k: (cfg.models.index(meta[k]["model"]), meta[k]["seed"]))
    jobs = [(nets[k], meta[k], test, idx, pc, replicates.sample_seed(params, p.seed, meta[k]["seed"])) for k in keys]
    tables = map_ordered(_probe, jobs, params.get("workers", 1), desc="word_information probe")
    layers = write_outputs(keys, meta, tables, p.model_dump())
    print(layers.groupby(["model", "layer"]).mean(numeric_only=True).drop(columns="seed").round(3).to_string())
    print(f"probed {len(keys)} networks in {time.perf_counter() - t0:.1f} s")
    return 0
