"""The olah2017 probe on tiny networks: the claim tables have the rows and columns their claim
files declare, pairs share starts, and the same seeds give the same bytes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from benchmark.claims.registry import load_claim
from benchmark.families.feature_vis import directions
from benchmark.families.feature_vis.config import FeatureVisParams
from benchmark.families.feature_vis.optimization import ColourDecorrelation, Job, objective_values
from benchmark.families.feature_vis.probe import Context, claim_tables, network_jobs, probe_network, transfer
from benchmark.models.scene_gan import Segmenter
from benchmark.paths import project_root
from benchmark.stats.evidence import check_integrity

CLAIMS = {"objectives": ["olah2017-logit-beats-softmax", "olah2017-logit-images-show-the-class"],
          "diversity": ["olah2017-diversity-reveals-facets", "olah2017-diversity-costs-little"],
          "regularization": ["olah2017-regularization-removes-high-frequencies"],
          "transfer": ["olah2017-regularized-visualizations-transfer", "olah2017-fourier-visualizations-transfer"]}


class Tiny(nn.Module):
    """The scene classifiers' protocol (all_features, resume) at toy size."""

    def __init__(self, seed: int, n_classes: int = 3):
        super().__init__()
        torch.manual_seed(seed)
        self.convs = nn.ModuleList([nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1),
                                    nn.Conv2d(4, 6, 3, padding=1)])
        self.fc = nn.Linear(6, n_classes)

    def all_features(self, x):
        out, h = [], x
        for i, c in enumerate(self.convs):
            h = torch.relu(c(nn.functional.max_pool2d(h, 2) if i == 1 else h))
            out.append(h)
        return out

    def resume(self, h, layer):
        return self.fc(h.mean(dim=(2, 3)))

    def forward(self, x):
        f = self.all_features(x)
        return self.resume(f[-1], len(f))


@pytest.fixture(scope="module")
def ctx():
    torch.set_num_threads(1)
    cfg = FeatureVisParams(steps=6, lr=0.05, starts=2, classes=["village", "town"], unit_layer=3, units=2,
                           gram_layer=2, diversity_images=3, diversity_weight=1.0,
                           transforms={"translate": 2.0, "scale": (0.9, 1.1), "rotate": 10.0},
                           real_per_class=5, unit_reference_samples=10, init_seed=7, snapshots=[3])
    torch.manual_seed(0)
    seg = Segmenter(10, 4).eval()
    rng = np.random.default_rng(0)
    colour = ColourDecorrelation.from_images(rng.integers(0, 256, (4, 8, 8, 3)).astype(np.uint8))
    ref = torch.from_numpy(rng.uniform(-1, 1, (10, 3, 32, 32)).astype(np.float32))
    return Context(cfg, colour, seg, (0, 1), {0: [3, 6], 1: [3, 4]}, ref, 11)


@pytest.fixture(scope="module")
def probed(ctx):
    nets = {s: Tiny(s) for s in (1, 2, 3)}
    return nets, {s: probe_network(s, m, ctx) for s, m in nets.items()}


def _tables(nets, res):
    frames, groups = [], []
    for s, r in res.items():
        f, g = r["measures"][6]
        cls = f.arm.isin(["pixel", "pixel_transforms", "fourier", "fourier_transforms", "softmax"]).to_numpy()
        tr = np.full(len(f), np.nan)
        tr[cls] = transfer(r["images"][6][torch.from_numpy(cls.copy())], f.target.to_numpy()[cls],
                           [m for t, m in nets.items() if t != s])
        frames.append(f.assign(transfer=tr))
        groups.append(g)
    return claim_tables(pd.concat(frames, ignore_index=True), pd.concat(groups, ignore_index=True), {0: 0.1, 1: 0.2})


def test_jobs_pair_arms_by_start(ctx):
    jobs = network_jobs(1, Tiny(1), ctx)
    by = {}
    for j in jobs:
        by.setdefault((j.arm.param, j.target if j.arm.objective != "channel" else -1 - j.target, j.pair,
                       j.arm.objective == "channel"), set()).add(j.init_seed)
    assert all(len(v) == 1 for v in by.values())                     # one start per (param, target, pair)
    assert len({j.init_seed for j in jobs}) > 4                        # starts differ across classes/pairs
    assert sum(j.arm.diversity > 0 for j in jobs) == ctx.cfg.units * ctx.cfg.diversity_images


def test_claim_tables_match_their_claim_files(probed):
    nets, res = probed
    assert sorted(res[1]["measures"]) == [3, 6]                          # snapshot and final step
    tables = _tables(nets, res)
    for name, files in CLAIMS.items():
        t = tables[name].assign(network_accuracy=0.9, segmenter_min_iou=0.5)
        for f in files:
            spec = load_claim(project_root() / "claims" / f"{f}.yaml")
            missing = set(spec.evidence.columns) - set(t.columns)
            assert not missing, (f, missing)
            assert not t.duplicated(list(spec.evidence.key)).any()
            check_integrity(t, spec, f"{name}.csv")                   # key and declared domains hold
        assert set(t.network) == {1, 2, 3} and np.isfinite(t.y).all()
    o1 = tables["objectives"]
    gain = o1[o1.contrast == "softmax_gain_from_others_minus_half"]
    assert np.allclose(gain.gain_from_others + gain.gain_from_target, gain.gain_total)
    # y is the others' share of the parts that raised log p, minus 1/2
    up_o, up_t = gain.gain_from_others.clip(lower=0), gain.gain_from_target.clip(lower=0)
    assert np.allclose(gain.y, up_o / (up_o + up_t) - 0.5) and gain.y.between(-0.5, 0.5).all()
    assert ((up_o + up_t) > 0).all()                                  # images nothing raised are left out
    assert len(tables["regularization"]) == 3 * 3 * 2 * 2              # contrasts x networks x classes x starts


def test_probe_is_deterministic(ctx, probed):
    nets, res = probed
    again = probe_network(2, nets[2], ctx)
    a, b = res[2]["measures"][6][0], again["measures"][6][0]
    assert a.to_csv().encode() == b.to_csv().encode()
    assert res[2]["images"][6].numpy().tobytes() == again["images"][6].numpy().tobytes()


def test_a_basis_direction_is_its_channel(ctx):
    """The direction objective on a unit vector e_c is the channel objective on channel c."""
    torch.manual_seed(0)
    units = torch.randn(3, 6, 4, 4)
    chan = [Job(directions.Arm("unit", "fourier", True, "channel"), c, 0, 1) for c in (0, 2, 5)]
    dirs = [Job(directions.DIRECTION, c, 0, 1, direction=tuple(float(c == k) for k in range(6))) for c in (0, 2, 5)]
    assert torch.allclose(objective_values(torch.zeros(3, 2), units, chan), objective_values(torch.zeros(3, 2), units, dirs))
    d = directions.random_directions(1, 11, 6)
    assert d.shape == (directions.POOL, 6) and torch.allclose(d.norm(dim=1), torch.ones(directions.POOL, dtype=d.dtype))
    assert torch.equal(d, directions.random_directions(1, 11, 6)) and not torch.equal(d, directions.random_directions(2, 11, 6))


def test_directions_table_matches_its_claim_file(ctx, probed):
    nets, res = probed
    diversity = _tables(nets, res)["diversity"]
    dctx = directions.Context(ctx.cfg, ctx.reference, ctx.base_seed, ctx.colour)

    def labeller(x):
        with torch.no_grad():
            return ctx.segmenter(x).argmax(1)

    basis, random = [], []
    for s, m in nets.items():
        out = directions._visualize_one(dctx, (s, m))
        assert len(out["chosen"]) == ctx.cfg.units and len(out["images"]) == ctx.cfg.units * ctx.cfg.diversity_images
        basis += [{"network": s, **r} for r in directions.basis_rows(diversity, s, m, ctx.reference, ctx.cfg)]
        random += directions.direction_rows(s, out, labeller, ctx.cfg.diversity_images)
    t = directions.claim_table(pd.DataFrame(basis), pd.DataFrame(random)).assign(network_accuracy=0.9, segmenter_min_iou=0.5)
    spec = load_claim(project_root() / "claims" / "olah2017-random-directions-less-interpretable.yaml")
    assert not set(spec.evidence.columns) - set(t.columns)
    check_integrity(t, spec, "directions.csv")
    assert len(t) == len(nets) * ctx.cfg.units and np.allclose(t.y, t.consistency_basis - t.consistency_random)
