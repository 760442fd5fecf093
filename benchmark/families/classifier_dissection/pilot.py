"""The pilot that sized the classifier-dissection claims: train classifiers on seeds disjoint from
the verdict's, probe them exactly as the verdict's stage does, write the tables to pilots/.

    python -m benchmark.families.classifier_dissection.pilot --seeds 101 102 103 104
        -> pilots/classifier_dissection/{detectors,deepest_objects,class_removal,unit_importance,
           attacks,rotation,rotation_fall}.csv
    python -m benchmark.families.classifier_dissection.pilot --seeds 301 302 303 304 --out v4
        -> pilots/classifier_dissection/v4/*.csv (issue 25: the null-calibrated criterion and the
           active-unit rotation, on seeds disjoint from every verdict and pilot so far)
    python -m benchmark.families.classifier_dissection.pilot --seeds 1 2 3 4 5 6 7 8 --rotation-spread 6
        -> pilots/classifier_dissection/v2/rotation_spread.csv (O3's variance decomposition, version 2's pilot)
Version 2 of B1 and the O3 pair took version 1's verdict tables (seeds 1-8) as its pilot:
pilots/classifier_dissection/v2/{class_removal,rotation_fall}.csv.
Not a pipeline stage: it is run once, by hand, before the verdict's seeds (its tables are kept in git).
"""

from __future__ import annotations

import argparse
import sys
import time

from benchmark.atomic import write_csv
from benchmark.config import load_params
from benchmark.data import scene_classes
from benchmark.data.store import data_dir
from benchmark.determinism import pin_threads
from benchmark.experiments.scene_classifier import ClassifierConfig, random_classifier, train_classifiers
from benchmark.experiments.scene_classifier_config import load_classifier_params
from benchmark.families.classifier_dissection.embedded import load_data, probe_networks, tables
from benchmark.families.classifier_dissection.params import load_dissection_params
from benchmark.models.scene_classifier import build
from benchmark.paths import project_root
from benchmark.steps import cli


@cli
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="+", required=True)
    ap.add_argument("--rotation-spread", type=int, metavar="R", default=0,
                    help="instead: O3's variance decomposition on the shared networks of these seeds (version 1's "
                         "verdict networks, version 2's pilot), R rotations each -> pilots/classifier_dissection/v2/rotation_spread.csv")
    ap.add_argument("--out", default="", help="a subfolder of pilots/classifier_dissection/ for the tables (e.g. v4)")
    args = ap.parse_args(argv)
    params = load_params()
    cfg, p = load_classifier_params(params), load_dissection_params(params)
    if args.rotation_spread:
        return _rotation_spread(params, cfg, p, args.seeds, args.rotation_spread)
    if set(args.seeds) & set(cfg.seeds):
        raise SystemExit(f"pilot seeds must be disjoint from the verdict's {cfg.seeds}")
    pin_threads(1)
    t0 = time.perf_counter()
    root = data_dir() / cfg.dataset
    train, test = scene_classes.load(root, "train"), scene_classes.load(root, "test")
    k = len(scene_classes.CLASSES)
    cc = ClassifierConfig(tuple(cfg.channels), cfg.epochs, cfg.lr, cfg.batch_size)
    results = train_classifiers(cc, train, k, args.seeds, params.get("workers", 1))
    trained = []
    for seed, (state, _) in zip(args.seeds, results):
        m = build({"n_classes": k, "channels": cfg.channels})
        m.load_state_dict(state)
        trained.append((seed, m.eval()))
    random = [(s, random_classifier(cc, k, s)) for s in args.seeds]
    t1 = time.perf_counter()
    out = tables(probe_networks(trained, random, load_data(train, test), p, p.probe_seed, params.get("workers", 1)), p)
    for name, frame in out.items():
        if name != "dissection":
            write_csv(project_root() / "pilots" / "classifier_dissection" / args.out / f"{name}.csv", frame)
    print(f"pilot: trained {len(args.seeds)} in {t1 - t0:.1f} s, probed in {time.perf_counter() - t1:.1f} s")
    return 0


def _rotation_spread(params: dict, cfg, p, seeds: list[int], rotations: int) -> int:
    import pandas as pd

    from benchmark.experiments.scene_classifier import load_scene_classifiers
    from benchmark.paths import models_path

    pin_threads(1)
    root = data_dir() / cfg.dataset
    data = load_data(scene_classes.load(root, "train"), scene_classes.load(root, "test"))
    rows = [row for seed, model in load_scene_classifiers(models_path("scene_classifier")) if seed in seeds
            for row in rotation_spread_rows(seed, model, data, p, p.probe_seed + seed, rotations)]
    write_csv(project_root() / "pilots" / "classifier_dissection" / "v2" / "rotation_spread.csv", pd.DataFrame(rows))
    return 0


def rotation_spread_rows(seed: int, model, data: dict, p, probe_seed: int, rotations: int) -> list[dict]:
    """O3's variance decomposition (a pilot, not evidence): the last layer dissected unrotated and
    under `rotations` independent Q (drawn from [rotation_seed + seed, r]), in one pass; per
    rotation, the relative fall of detector units. Its spread within a network against the spread
    of the networks' means says whether more rotations per network would narrow O3's interval."""
    import numpy as np
    import torch

    from benchmark.data.scenes import SIZE
    from benchmark.families.classifier_dissection.embedded import K, LAST
    from benchmark.families.classifier_dissection.rotation import random_rotation
    from benchmark.probes import dissection

    width = model.layer_width(LAST)
    xd, md = data["x_test"][: p.dissect_samples], data["masks_test"][: p.dissect_samples]
    qs = [torch.eye(width)] + [torch.from_numpy(random_rotation(width, [p.rotation_seed + seed, r]).astype(np.float32))
                               for r in range(rotations)]
    maps = lambda s: [torch.einsum("ij,njhw->nihw", q, model.features(xd[s], LAST)) for q in qs]  # noqa: E731
    level = 1 - p.quantiles[0]
    ds = dissection.dissect(maps, lambda s, hs: md[s], len(xd), K, SIZE, [level], np.random.default_rng(probe_seed),  # v2's instrument
                            per_batch=5000)
    a0 = dissection.detector_summary(ds[0]["iou"][level], p.iou_cutoff)["detector_units"]
    return [{"seed": seed, "rotation": r, "a0": a0, "a1": (a1 := dissection.detector_summary(d["iou"][level], p.iou_cutoff)["detector_units"]),
             "fall": (a0 - a1) / a0} for r, d in enumerate(ds[1:])]


if __name__ == "__main__":
    sys.exit(main())
