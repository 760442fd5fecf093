"""The family's three steps, each at the params' scale: the embedded modules (training, probing,
controls) or the paper-scale adapter (paper_scale: SST-2, BERT and the treebank's word relevance,
handed to the same measure and controls). The one module that knows both scales, so that neither
imports the other to dispatch.

    python -m benchmark.stages.train word_information networks
    python -m benchmark.stages.probe word_information measures
    python -m benchmark.stages.probe word_information controls
"""

from __future__ import annotations

import argparse
from typing import Callable

from benchmark.config import load_params
from benchmark.families.word_information import controls as embedded_controls
from benchmark.families.word_information import paper_scale, probing, training
from benchmark.steps import cli


def _at_scale(doc: str, argv, embedded: Callable[[dict], int], paper: Callable[[dict], int]) -> int:
    argparse.ArgumentParser(description=doc).parse_args(argv)
    params = load_params()
    return (paper if params["scale"] == "paper" else embedded)(params)


@cli
def networks(argv=None) -> int:
    """Train every (model, seed) of the params' scale and publish them (stage train_word_information)."""
    return _at_scale(networks.__doc__, argv, training.train, paper_scale.train)


@cli
def measures(argv=None) -> int:
    """The perturbation measure and the gradient baselines on every network (stage probe_word_information)."""
    return _at_scale(measures.__doc__, argv, probing.measure, paper_scale.probe)


@cli
def controls(argv=None) -> int:
    """The instruments' controls on the networks (stage controls_word_information)."""
    return _at_scale(controls.__doc__, argv, embedded_controls.run, paper_scale.controls)
