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

from benchmark.config import load_params
from benchmark.steps import cli


def _params(doc: str, argv) -> dict:
    argparse.ArgumentParser(description=doc).parse_args(argv)
    return load_params()


@cli
def networks(argv=None) -> int:
    """Train every (model, seed) of the params' scale and publish them (stage train_word_information)."""
    params = _params(networks.__doc__, argv)
    if params["scale"] == "paper":
        from benchmark.families.word_information import paper_scale

        return paper_scale.train(params)
    from benchmark.families.word_information import training

    return training.train(params)


@cli
def measures(argv=None) -> int:
    """The perturbation measure and the gradient baselines on every network (stage probe_word_information)."""
    params = _params(measures.__doc__, argv)
    if params["scale"] == "paper":
        from benchmark.families.word_information import paper_scale

        return paper_scale.probe(params)
    from benchmark.families.word_information import probing

    return probing.measure(params)


@cli
def controls(argv=None) -> int:
    """The instruments' controls on the networks (stage controls_word_information)."""
    params = _params(controls.__doc__, argv)
    if params["scale"] == "paper":
        from benchmark.families.word_information import paper_scale

        return paper_scale.controls(params)
    from benchmark.families.word_information import controls as embedded

    return embedded.run(params)
