"""Known answers of the classifier-dissection probe: a unit that copies a concept mask is found with
IoU ~1 and passes the null-calibrated criterion, units of noise do not, silent units are counted
apart; the identity rotation changes nothing and rotations leave silent units in place; a rotation
keeps the logits; the probe is deterministic (same seed, same tables) and the null's draws leave
every other table unchanged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.data import scene_classes as SC
from benchmark.data.scenes import CID
from benchmark.families.classifier_dissection import embedded as CD
from benchmark.families.classifier_dissection import probes
from benchmark.families.classifier_dissection.params import DissectionParams
from benchmark.families.classifier_dissection.rotation import fractional_power, random_rotation
from benchmark.models.scene_classifier import SceneClassifier
from benchmark.probes import dissection

P = DissectionParams(quantiles=[0.01, 0.005], iou_cutoff=0.04, null_permutations=2, null_fpr=0.01, dissect_samples=36, importance_samples=36, paper_width=512,
                     paper_ks=[4, 20], random_draws=2, attack_samples=4, attack_steps=2, attack_eps=0.2,
                     attack_step_size=0.1, rotation_powers=[0.0, 0.5, 1.0], rotation_seed=3, probe_seed=2)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(9)
    return CD.load_data(SC.generate(36, rng), SC.generate(36, rng))


def _net(seed: int, channels=(4, 4, 8, 8)) -> SceneClassifier:
    torch.manual_seed(seed)
    return SceneClassifier(len(SC.CLASSES), channels).eval()


def test_a_unit_that_copies_the_snow_mask_is_a_snow_detector_with_iou_about_1(data):
    """conv1 unit 0 = relu(r + g + b - 2.2): positive only on snow pixels (all channels >= 225/255),
    whose share of the pixels is below 1%, so its top-1% mask is exactly the snow mask."""
    net = _net(0)
    with torch.no_grad():
        net.convs[0].weight.zero_()
        net.convs[0].bias.zero_()
        net.convs[0].weight[0, :, 1, 1] = 1.0
        net.convs[0].bias[0] = -2.2
    snow_share = (data["masks_test"] == CID["snow"]).mean()
    assert 0 < snow_share < 0.01
    layers = CD.dissect_layers(net, data["x_test"], data["masks_test"], P, np.random.default_rng(0), np.random.default_rng(1))
    iou = layers[0]["iou"][0.99]
    assert np.nanargmax(iou[0]) == CID["snow"]
    assert iou[0, CID["snow"]] > 0.95
    assert len(layers[0]["null_iou"][0.99]) == 2 and layers[0]["null_iou"][0.99][0].shape == iou.shape


def test_a_planted_unit_passes_the_null_calibrated_criterion_and_silent_units_are_counted_apart(data):
    """A unit that is the building mask (avg-pooled to 8x8) detects buildings above its layer's
    null; units that never fire are silent, outside the counts and the shares."""
    rng = np.random.default_rng(2)
    m = torch.from_numpy((data["masks_test"] == CID["building"]).astype(np.float32))[:, None]
    planted = torch.nn.functional.avg_pool2d(m, 4) + torch.from_numpy(rng.uniform(0, 1e-3, (36, 1, 8, 8)).astype(np.float32))
    noise = torch.from_numpy(rng.uniform(size=(36, 5, 8, 8)).astype(np.float32))
    layer = torch.cat([planted, noise, torch.zeros(36, 3, 8, 8)], dim=1)
    labels = probes.with_null(lambda s, hs: data["masks_test"][s], 36, 10, 2, np.random.default_rng(4))
    (d,) = probes.split_null(dissection.dissect(lambda s: [layer[s]], labels, 36, 30, 32, [0.99], rng), 10)
    c = probes.criterion(d, 0.99, P)
    assert c["detector"][0] and c["best"][0] == CID["building"] and c["cutoff"] >= 0.04
    assert c["silent"].tolist() == [False] * 6 + [True] * 3
    s = probes.layer_summary(c, objects=[CID["building"]])
    assert (s["units"], s["silent_units"], s["active_units"], s["object_detectors"]) == (9, 3, 6, 1)
    assert s["detector_share"] == s["detector_units"] / 6


def test_noise_units_do_not_pass_their_null_calibrated_cutoff(data):
    """Units of pure noise, independent of the masks: the cut-off rises to their null (here above
    0.04 for the small sample) and at most a share null_fpr of them, plus sampling error, detect."""
    rng = np.random.default_rng(3)
    layer = torch.from_numpy(rng.uniform(size=(36, 40, 8, 8)).astype(np.float32))
    labels = probes.with_null(lambda s, hs: data["masks_test"][s], 36, 10, 4, np.random.default_rng(4))
    (d,) = probes.split_null(dissection.dissect(lambda s: [layer[s]], labels, 36, 50, 32, [0.99], rng), 10)
    c = probes.criterion(d, 0.99, P)
    assert c["cutoff"] >= max(0.04, c["null_quantile"]) and not c["silent"].any()
    assert c["detector"].mean() <= 0.1
    assert c["cutoff"] > probes.criterion({**d, "null_iou": {}}, 0.99, P)["cutoff"] or c["null_quantile"] <= 0.04


def test_identity_rotation_is_exact_and_powers_compose():
    q = random_rotation(12, 1)
    assert np.array_equal(fractional_power(q, 0.0), np.eye(12))
    assert np.array_equal(fractional_power(q, 1.0), q)
    assert abs(np.linalg.det(q) - 1) < 1e-9
    with pytest.raises(ValueError, match="reflection"):
        fractional_power(q @ np.diag([-1.0] + [1.0] * 11), 0.5)


@settings(max_examples=15, deadline=None)
@given(a=st.floats(0.0, 1.0), b=st.floats(0.0, 1.0), n=st.integers(2, 9), seed=st.integers(0, 10_000))
def test_fractional_powers_are_rotations_that_add_up(a, b, n, seed):
    q = random_rotation(n, seed)
    ra, rb = fractional_power(q, a), fractional_power(q, b)
    np.testing.assert_allclose(ra @ ra.T, np.eye(n), atol=1e-9)
    assert abs(np.linalg.det(ra) - 1) < 1e-9
    if a + b <= 1:
        np.testing.assert_allclose(ra @ rb, fractional_power(q, a + b), atol=1e-8)


def test_identity_rotation_changes_no_dissection_and_rotations_leave_silent_units_in_place(data):
    net = _net(1)
    p = P.model_copy(update={"rotation_powers": [0.0, 1.0]})
    rows = CD.rotation_rows(1, net, data["x_test"], data["masks_test"], data["y_test"], p, np.random.default_rng(0),
                            np.random.default_rng(1))
    active = CD.active_units(lambda s: net.features(data["x_test"][s], 4), 36, 0.01)
    at0 = [r for r in rows if r["a"] == 0.0 and r["quantile"] == 0.01][0]
    assert at0["units"] == at0["active_units"] == active.sum() and at0["silent_left_out"] == 8 - active.sum()
    idx, subs, full = probes.active_rotations(8, active, 1, p)
    for f in full:
        np.testing.assert_array_equal(f[np.ix_(~active, ~active)], np.eye(int((~active).sum())))
        assert not f[np.ix_(~active, active)].any() and not f[np.ix_(active, ~active)].any()
    full_d = dissection.dissect(lambda s: [net.features(data["x_test"][s], 4)], lambda s, hs: data["masks_test"][s],
                                len(data["x_test"]), 10, 32, [0.99], np.random.default_rng(0), per_batch=10 ** 7)[0]
    rot0 = dissection.dissect(lambda s: [torch.einsum("ij,njhw->nihw", torch.eye(8), net.features(data["x_test"][s], 4))],
                              lambda s, hs: data["masks_test"][s], len(data["x_test"]), 10, 32, [0.99],
                              np.random.default_rng(0), per_batch=10 ** 7)[0]
    np.testing.assert_array_equal(rot0["iou"][0.99], full_d["iou"][0.99])


@pytest.mark.parametrize("a", [0.3, 1.0])
def test_rotation_with_counter_rotated_readout_keeps_the_logits(data, a):
    net = _net(2)
    r = fractional_power(random_rotation(8, 4), a)
    x = data["x_test"][:10]
    with torch.no_grad():
        h = torch.einsum("ij,njhw->nihw", torch.from_numpy(r).float(), net.features(x, 4))
        w, b = CD.rotated_readout(net, r)
        logits = h.mean(dim=(2, 3)).double() @ torch.from_numpy(w).T + torch.from_numpy(b)
        torch.testing.assert_close(logits.float(), net(x), atol=1e-5, rtol=1e-5)
    rows = CD.rotation_rows(2, net, data["x_test"], data["masks_test"], data["y_test"], P, np.random.default_rng(0),
                            np.random.default_rng(1))
    assert max(r["max_abs_logit_change"] for r in rows) < 1e-9
    assert all(r["accuracy"] == r["accuracy_unrotated"] for r in rows)


def test_removing_the_only_unit_a_class_reads_drops_it_to_chance(data):
    """A read-out where class 0 reads only unit 0: removing its top-1 unit leaves class 0 never
    predicted (balanced accuracy 0.5), removing a random other unit changes nothing for it."""
    width = 8
    g = np.abs(np.random.default_rng(0).standard_normal((90, width)))
    y = np.arange(90) % 9
    g[:, 0] = np.where(y == 0, 5.0, 0.0)
    net = _net(3)
    with torch.no_grad():
        net.fc.weight.zero_()
        net.fc.bias.zero_()
        net.fc.weight[0, 0] = 1.0
        net.fc.bias[1:] = 2.0  # every other class beats class 0 unless unit 0 fires
    imp = CD.importance(net, g, y)
    assert probes.ranked(imp, 0)[0] == 0
    p = P.model_copy(update={"paper_ks": [4], "random_draws": 30})
    rows = pd.DataFrame(probes.removal_rows(3, CD.predictor(net, g), y, imp, p, np.random.default_rng(0), SC.CLASSES))
    r0 = rows[rows["class"] == SC.CLASSES[0]].iloc[0]
    assert r0.base == 1.0 and r0.top_removed == 0.5
    assert r0.random_removed > 0.8


def test_same_seed_same_tables(data):
    run = lambda ps: CD.tables({"trained": {5: CD.probe_network(5, _net(5), data, P, probe_seed=ps)},  # noqa: E731
                                "random": {6: CD.probe_control(6, _net(6), data, P, probe_seed=ps + 1)}}, P)
    res, other = [run(7), run(7)], run(8)
    for name, frame in res[0].items():
        assert frame.to_csv(index=False) == res[1][name].to_csv(index=False), name
    assert other["attacks"].to_csv(index=False) != res[0]["attacks"].to_csv(index=False)
    assert set(res[0]) == {"dissection", "detectors", "deepest_objects", "class_removal", "unit_importance", "attacks",
                           "rotation", "rotation_fall"}
    assert set(res[0]["detectors"].kind) == {"trained", "random"}


def test_the_null_draws_apart_from_removal_and_attacks(data):
    """The null's permutations have a generator of their own: more or fewer of them change the
    dissection's cut-offs, never the removal or attack draws."""
    one = CD.probe_network(5, _net(5), data, P.model_copy(update={"null_permutations": 1}), probe_seed=7, rotate=False)
    two = CD.probe_network(5, _net(5), data, P, probe_seed=7, rotate=False)
    for key in ("removal", "attacks"):
        assert pd.DataFrame(one[key]).to_csv(index=False) == pd.DataFrame(two[key]).to_csv(index=False), key


def test_rotate_false_drops_only_the_rotations(data):
    full = CD.probe_network(5, _net(5), data, P, probe_seed=7)
    lean = CD.probe_network(5, _net(5), data, P, probe_seed=7, rotate=False)
    assert full["rotation"] and lean["rotation"] == []
    for key in ("units", "summary", "removal", "importance", "attacks"):
        assert pd.DataFrame(lean[key]).to_csv(index=False) == pd.DataFrame(full[key]).to_csv(index=False), key


def test_replicates_carry_b1_and_o3_and_leave_the_rest(data):
    """With replicate networks, class_removal and rotation(_fall) are theirs (rotation only on the
    first `rotation_networks`), every other table is the shared networks' as before."""
    trained, random = [(5, _net(5))], [(6, _net(6))]
    replicate = [(201, _net(201)), (202, _net(202))]
    base = CD.tables(CD.probe_networks(trained, random, data, P, 7, 1), P)
    res = CD.probe_networks(trained, random, data, P, 7, 1, replicate, rotation_networks=1, rotation_powers=[0.0, 1.0])
    out = CD.tables(res, P)
    assert sorted(out["class_removal"].seed.unique()) == [201, 202]
    assert sorted(out["rotation"].seed.unique()) == [201] and sorted(out["rotation"].a.unique()) == [0.0, 1.0]
    assert sorted(out["rotation_fall"].seed.unique()) == [201]
    for name in ("dissection", "detectors", "deepest_objects", "unit_importance", "attacks"):
        assert out[name].to_csv(index=False) == base[name].to_csv(index=False), name
    again = CD.tables(CD.probe_networks(trained, random, data, P, 7, 1, replicate, 1, [0.0, 1.0]), P)
    assert again["class_removal"].to_csv(index=False) == out["class_removal"].to_csv(index=False)


def test_replicate_params_check_their_seeds():
    from pydantic import ValidationError

    from benchmark.families.classifier_dissection.params import ReplicateParams

    assert ReplicateParams(seeds=[3, 1], rotation_networks=2, rotation_powers=[1.0, 0.0]).rotation_powers == [0.0, 1.0]
    for bad in ({"seeds": [1, 1], "rotation_networks": 1, "rotation_powers": [0.0, 1.0]},
                {"seeds": [1, 2], "rotation_networks": 3, "rotation_powers": [0.0, 1.0]},
                {"seeds": [1, 2], "rotation_networks": 1, "rotation_powers": [0.0, 0.5]}):
        with pytest.raises(ValidationError):
            ReplicateParams(**bad)


def test_kept_maps_save_the_second_forward_pass_and_change_no_count(data, monkeypatch):
    """The second pass reuses the first pass's maps while they fit dissection.MAPS_KEPT_BYTES:
    features run once per batch instead of twice, with the same thresholds and counts as when
    they do not fit and are computed again."""
    net, calls = _net(4), []

    def features(s):
        calls.append(s)
        return net.all_features(data["x_test"][s])

    def run(budget: int) -> list[dict]:
        monkeypatch.setattr(dissection, "MAPS_KEPT_BYTES", budget)
        calls.clear()
        return dissection.dissect(features, lambda s, hs: data["masks_test"][s], 36, 10, 32, [0.99, 0.995],
                                  np.random.default_rng(0), batch=10)

    kept = run(256 << 20)
    assert len(calls) == 4  # 4 batches, once each
    again = run(0)
    assert len(calls) == 8
    for a, b in zip(kept, again):
        for lv in (0.99, 0.995):
            np.testing.assert_array_equal(a["threshold"][lv], b["threshold"][lv])
            np.testing.assert_array_equal(a["iou"][lv], b["iou"][lv])
