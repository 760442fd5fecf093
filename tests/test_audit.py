"""`claims audit`: bring your own model. Each format on a small network built here: the README's
example (MLPs trained by the suite, as safetensors, and the same weights as torch state dicts), a
torchvision ResNet-18 with random weights saved as a state dict, a Hugging Face BERT built from a
config, any nn.Module read through hooks (with dissection), `--arch` as a file or a module of the
current directory, and the generalization claim made testable by label-noise metadata. Bad inputs:
tests/fuzz/test_audit_inputs.py."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from benchmark import controls
from benchmark.atomic import read_json
from benchmark.audit import audit, load_user_models, wrap_units
from benchmark.audit.arch import resolve_arch
from benchmark.audit.inputs import load_arrays
from benchmark.audit.probes import probe_settings
from benchmark.audit.units import HookedEncoder
from benchmark.audit_example import make_example
from benchmark.claims.registry import load_claims
from benchmark.cli import main
from tests.conftest import REPO, instruments_pass

CLAIM = "morcos2018.selectivity-not-importance"
GENERALIZATION = "morcos2018.generalizers-resist-ablation"
FAST_ABLATION = {"cumulative_ablation": {"orders": 2, "fractions": [0.0, 0.5, 1.0]}}


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    if not (REPO / "data" / "mnist1d" / "x_train.npy").is_file():
        pytest.skip("data/ not materialized (run python -m benchmark.data.materialize)")
    out = tmp_path_factory.mktemp("audit-example")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CLAIMS_ROOT", str(REPO))
        cmd = make_example(out, seeds=[0, 1, 2, 3, 4, 5], hidden=[16, 16], epochs=2, train_subset=500)
    return out, cmd


def _run(cmd, out, monkeypatch, capsys):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    args = cmd[1:]
    i = args.index("--out")
    args[i + 1] = str(out)
    assert main(args) == 0
    return capsys.readouterr().out


def test_audit_the_example(example, tmp_path, monkeypatch, capsys):
    src, cmd = example
    printed = _run(cmd, tmp_path / "report", monkeypatch, capsys)
    res = read_json(tmp_path / "report" / "audit.json")
    tested = {t["claim_id"]: t for t in res["tested"]}
    assert CLAIM in tested and tested[CLAIM]["verdict"] in ("reproduced", "falsified", "inconclusive")
    # training labels are given (train_acc is measured); only the label-noise metadata is missing
    hint = res["not_tested"][GENERALIZATION]
    assert "['label_noise']" in hint and "metadata" in hint and "train_acc" not in hint
    assert "train_acc" in pd.read_csv(tmp_path / "report" / "evidence" / "ablation_auc.csv").columns
    rec = read_json(tmp_path / "report" / "verdicts" / f"{CLAIM}.json")
    assert rec["result"]["n"] == 6 and rec["evidence"]["replicates"] == [str(s) for s in range(6)]
    for name in ("report.md", "report.html", "claims.json", "claims.tex", "references.bib", "figures/forest.png"):
        assert (tmp_path / "report" / name).is_file(), name
    assert res["report_id"] in (tmp_path / "report" / "report.html").read_text()
    md = (tmp_path / "report" / "report.md").read_text()
    # the replicates given beside what the claim's design needs, never "None replicates, power NaN"
    designed = load_claims(REPO / "claims")[CLAIM][1].scales["embedded"].replicates
    assert "None replicates" not in md and f"- Design: {designed} replicates, power 0." in md
    assert f"| `{CLAIM}` | 6 | {designed} | 0." in md and "Audit of your networks" in md
    assert CLAIM in printed and "not tested" in printed and f"[6 given, the claim's design: {designed}]" in printed


def test_one_network_says_so(example, tmp_path, monkeypatch, capsys):
    """With the suite's controls of the instrument passed, one network is too little evidence. The
    audit measures with the suite's instruments, so their controls are the suite's own
    (evidence/controls/): without them the verdict is inconclusive for that reason first."""
    src, cmd = example
    one = cmd[:2] + ["--model", str(src / "net0.safetensors")] + cmd[cmd.index("--arch"):]
    monkeypatch.setattr(controls, "outcomes", lambda ids, root=None: tuple(controls.ControlOutcome(i, None) for i in ids))
    printed = _run(one, tmp_path / "no-controls", monkeypatch, capsys)
    assert f"inconclusive  {CLAIM}: instrument failed its control: morcos/" in printed
    monkeypatch.setattr(controls, "outcomes", instruments_pass)
    printed = _run(one, tmp_path / "one", monkeypatch, capsys)
    assert f"inconclusive (1 replicate)  {CLAIM}" in printed
    md = (tmp_path / "one" / "report.md").read_text()
    assert "INCONCLUSIVE (1 replicate, needs 5)" in md


def test_state_dict_pt_reads_as_safetensors(example, tmp_path, monkeypatch, capsys):
    """The same weights as torch state dicts (.pt, read with weights_only=True) give the same tables."""
    src, cmd = example
    pts = []
    for i in (0, 1):
        torch.save(load_file(str(src / f"net{i}.safetensors")), tmp_path / f"net{i}.pt")
        pts.append(tmp_path / f"net{i}.pt")
    (tmp_path / "meta.json").write_text(json.dumps({"net0.pt": {"seed": 0}, "net1.pt": {"seed": 1}}))
    base = cmd[cmd.index("--arch"):] + ["--probe-params", json.dumps(FAST_ABLATION)]
    _run(cmd[:2] + [a for i in (0, 1) for a in ("--model", str(src / f"net{i}.safetensors"))] + base,
         tmp_path / "st", monkeypatch, capsys)
    _run(cmd[:2] + [a for p in pts for a in ("--model", str(p))] + ["--meta", str(tmp_path / "meta.json")] + base,
         tmp_path / "pt", monkeypatch, capsys)
    for table in ("unit_ablation", "ablation_auc"):
        assert (tmp_path / "st" / "evidence" / f"{table}.csv").read_bytes() == (tmp_path / "pt" / "evidence" / f"{table}.csv").read_bytes()


def test_label_noise_makes_the_generalization_claim_testable(example, tmp_path, monkeypatch, capsys):
    """With each network's label noise (metadata) and its training labels (data), the audit produces
    train_acc and tests morcos2018.generalizers-resist-ablation."""
    src, cmd = example
    noise = {f"net{i}.safetensors": {"label_noise": [0.0, 0.5, 1.0][i % 3]} for i in range(6)}
    (tmp_path / "meta.json").write_text(json.dumps(noise))
    args = cmd + ["--meta", str(tmp_path / "meta.json"), "--probes", "cumulative_ablation",
                  "--probe-params", json.dumps(FAST_ABLATION)]
    printed = _run(args, tmp_path / "gen", monkeypatch, capsys)
    res = read_json(tmp_path / "gen" / "audit.json")
    assert GENERALIZATION in {t["claim_id"] for t in res["tested"]} and GENERALIZATION in printed
    auc = pd.read_csv(tmp_path / "gen" / "evidence" / "ablation_auc.csv")
    assert sorted(auc.label_noise) == [0.0, 0.0, 0.5, 0.5, 1.0, 1.0]
    # train_acc is the fit on every training label given
    from benchmark.models.mlp import MLP

    with np.load(src / "mnist1d.npz") as z:
        x, y = torch.from_numpy(z["x_train"]), torch.from_numpy(z["y_train"])
    net = MLP(**json.loads((src / "arch.json").read_text()))
    net.load_state_dict(load_file(str(src / "net3.safetensors")))
    with torch.no_grad():
        want = float((net(x).argmax(1) == y).float().mean())
    assert auc.set_index("seed").train_acc[3] == pytest.approx(want)


def test_torchvision_resnet18_state_dict(tmp_path, monkeypatch, capsys):
    """torchvision's ResNet-18 by name, random weights saved as a state dict: units at the residual
    stages (not every ReLU call), selectivity and ablation, dissection with masks and feature vis."""
    import torchvision

    rng = np.random.default_rng(0)
    for i in (0, 1):
        torch.manual_seed(i)
        torch.save(torchvision.models.resnet18(weights=None, num_classes=3).state_dict(), tmp_path / f"r{i}.pt")
    x = rng.uniform(-1, 1, size=(6, 3, 16, 16)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x_test=x, y_test=np.arange(6) % 3)
    masks = np.zeros((6, 2, 16, 16), bool)
    masks[:, 0, :8], masks[:, 1, 8:] = True, True
    np.savez(tmp_path / "m.npz", masks=masks, concepts=np.array(["top", "bottom"]))
    params = {**FAST_ABLATION, "unit_ablation": {"max_units": 2},
              "feature_vis": {"steps": 2, "units": 1, "diversity_images": 2, "classes": [0, 1]}}
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    args = ["audit", "--model", str(tmp_path / "r0.pt"), "--model", str(tmp_path / "r1.pt"), "--arch", "torchvision:resnet18",
            "--arch-kwargs", '{"num_classes": 3}', "--data", str(tmp_path / "d.npz"), "--masks", str(tmp_path / "m.npz"),
            "--probes", "unit_ablation,cumulative_ablation,dissection,feature_vis", "--probe-params", json.dumps(params),
            "--out", str(tmp_path / "out")]
    assert main(args) == 0
    capsys.readouterr()
    res = read_json(tmp_path / "out" / "audit.json")
    assert res["units"] == ["relu", "layer1", "layer2", "layer3", "layer4"]
    ua = pd.read_csv(tmp_path / "out" / "evidence" / "unit_ablation.csv")
    assert len(ua) == 2 * 5 * 2 and list(ua.layer_name.unique()) == res["units"] and ua.selectivity.between(0, 1).all()
    dis = pd.read_csv(tmp_path / "out" / "evidence" / "dissection.csv")
    assert len(dis) == 2 * (64 + 64 + 128 + 256 + 512) * 2 and dis.iou.dropna().between(0, 1).all()
    reg = pd.read_csv(tmp_path / "out" / "evidence" / "regularization.csv")
    assert set(reg.contrast) == {"pixel_over_real", "pixel_over_pixel_transforms", "pixel_over_fourier"}
    div = pd.read_csv(tmp_path / "out" / "evidence" / "diversity.csv")
    assert set(div.contrast) == {"activation_cost"}  # label distance needs a segmenter
    tested = {t["claim_id"] for t in res["tested"]}
    assert {CLAIM, "olah2017.regularization-removes-high-frequencies", "olah2017.diversity-costs-little",
            "olah2017.fourier-visualizations-transfer"} <= tested
    assert "segmenter" in res["not_tested"]["olah2017.logit-beats-softmax"]


def _tiny_bert(path, seed: int, words: list[str]):
    pytest.importorskip("transformers")
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    (path.parent / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]))
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=5 + len(words), hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=16, max_position_embeddings=16, num_labels=2)
    BertForSequenceClassification(cfg).save_pretrained(path)
    BertTokenizer(str(path.parent / "vocab.txt")).save_pretrained(path)


def test_hugging_face_bert_word_information(tmp_path, monkeypatch, capsys):
    """A small BERT built from a config and saved with save_pretrained: loaded offline, fed integer
    token ids, its units read by hooks at its layers, the guan2019 measures per word and layer."""
    words = ["the", "film", "is", "great", "bad", "a", "plot", "dull"]
    for i in (0, 1):
        _tiny_bert(tmp_path / f"bert{i}", i, words)
    sents = [["the", "film", "is", "great"], ["a", "dull", "plot"], ["the", "plot", "is", "bad"]]
    rel = [[False, False, False, True], [False, True, None], [False, False, False, True]]
    (tmp_path / "s.json").write_text(json.dumps({"sentences": sents, "relevant": rel, "labels": [1, 0, 0]}))
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    args = ["audit", "--model", str(tmp_path / "bert0"), "--model", str(tmp_path / "bert1"), "--data", str(tmp_path / "s.json"),
            "--probe-params", '{"word_information": {"iterations": 3, "projections": 2}}', "--out", str(tmp_path / "out")]
    assert main(args) == 0
    assert "no claim could be tested" in capsys.readouterr().out  # guan2019's claims compare three model kinds
    res = read_json(tmp_path / "out" / "audit.json")
    assert res["units"] == ["bert.encoder.layer.0", "bert.encoder.layer.1"] and res["probes"] == ["word_information"]
    lay = pd.read_csv(tmp_path / "out" / "evidence" / "layer_measures.csv")
    assert len(lay) == 2 * 2 and lay.test_accuracy.between(0, 1).all() and lay.auc_perturbation.between(0, 1).all()
    wm = pd.read_csv(tmp_path / "out" / "evidence" / "word_measures.csv")
    assert len(wm) == 2 * 2 * 10  # 11 words, the one of unknown relevance left out
    assert "guan2019.measure-consistent" in res["not_tested"] and (tmp_path / "out" / "report.md").is_file()
    # the hooks read the layers' outputs: the hidden states, from integer ids
    nets, toks = load_user_models([tmp_path / "bert0"], None)
    enc = HookedEncoder(nets[0].model, toks[str(tmp_path / "bert0")], ["bert.encoder.layer.1.output"])
    ids, mask, _ = enc.tokenize_words(sents, 16)
    assert ids.dtype == torch.long
    with torch.no_grad():
        want = enc.model(input_ids=ids, attention_mask=mask.long(), output_hidden_states=True).hidden_states[2]
        got = enc.features(enc.embed(ids), mask)[0]
    assert torch.allclose(got, want, atol=1e-6)


class SmallConv(nn.Module):
    """A user network with no unit protocol: units are read at its nn.ReLU modules."""

    def __init__(self, channels: int = 4, n_classes: int = 3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def test_any_module_through_hooks_with_dissection(tmp_path):
    from benchmark.audit import run_probes

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 1, 8, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    masks = np.zeros((40, 2, 8, 8), dtype=bool)
    masks[:, 0, :4] = True
    masks[:, 1, 4:] = True
    np.savez(tmp_path / "d.npz", x_test=x, y_test=y)
    np.savez(tmp_path / "m.npz", masks=masks, concepts=np.array(["top", "bottom"]))
    torch.manual_seed(0)
    save_file(SmallConv().state_dict(), str(tmp_path / "c.safetensors"), metadata={"seed": "7"})
    nets, _ = load_user_models([tmp_path / "c.safetensors"], f"{__file__}:SmallConv")
    data = load_arrays(tmp_path / "d.npz", tmp_path / "m.npz", set())
    wrap_units(nets, data, None)
    assert nets[0].meta["seed"] == 7 and nets[0].meta["layers"] == ["body.1", "body.3"]
    settings = probe_settings([], FAST_ABLATION)
    frames = run_probes(nets, data, ["unit_ablation", "cumulative_ablation", "dissection"], settings)
    ua = frames["unit_ablation"]
    assert len(ua) == 8 and set(ua["layer"]) == {0, 1} and ua["selectivity"].between(0, 1).all()
    # hook ablation agrees with zeroing the channel by hand
    model = nets[0].model
    with torch.no_grad():
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        base = float((model(xt).argmax(1) == yt).float().mean())
        mask = torch.ones(4)
        mask[2] = 0
        by_hook = float((model(xt, masks={1: mask}).argmax(1) == yt).float().mean())
        h = model.model.body(xt) * mask.view(1, -1, 1, 1)
        by_hand = float((model.model.head(h.mean((2, 3))).argmax(1) == yt).float().mean())
    assert by_hook == by_hand
    row = ua[(ua["layer"] == 1) & (ua["unit"] == 2)].iloc[0]
    assert row["importance"] == pytest.approx(base - by_hook)
    # the suite's streaming dissection gives the exact IoU of a unit's top-1% region (all values kept)
    dis = frames["dissection"]
    assert len(dis) == 2 * 4 * 2 and set(dis["concept"]) == {"top", "bottom"} and dis["iou"].between(0, 1).all()
    with torch.no_grad():
        a = torch.nn.functional.interpolate(model.activations(xt)[1], size=(8, 8), mode="bilinear", align_corners=False)
    on = (a[:, 2] > np.quantile(a[:, 2].double().numpy(), 0.99)).numpy()
    want = (on & masks[:, 1]).sum() / (on | masks[:, 1]).sum()
    got = dis[(dis.layer == 1) & (dis.unit == 2) & (dis.concept == "bottom")].iou.iloc[0]
    assert got == pytest.approx(want)
    assert "label_noise" not in frames["ablation_auc"].columns and "train_acc" not in frames["ablation_auc"].columns
    assert json.loads(frames["ablation_auc"].to_json(orient="records"))[0]["seed"] == 7


def test_arch_from_a_file_or_the_current_directory(tmp_path, monkeypatch):
    """`--arch path/to/file.py:Class` and `module:Class` from the working directory, with no
    PYTHONPATH; torchvision builders by name, built without weights (nothing downloaded)."""
    (tmp_path / "nets.py").write_text("from torch import nn\n\nclass Net(nn.Linear):\n"
                                      "    def __init__(self, width=3):\n        super().__init__(2, width)\n")
    assert resolve_arch(f"{tmp_path / 'nets.py'}:Net").build({"width": 4}).out_features == 4
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    try:
        assert resolve_arch("nets:Net").build({}).out_features == 3
    finally:
        sys.modules.pop("nets", None)  # imported from this test's folder, forgotten after
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    net = resolve_arch("torchvision:resnet18").build({"num_classes": 5})
    assert net.fc.out_features == 5 and not (tmp_path / "torch-home").exists()


def test_audit_writes_nothing_for_a_refused_input(example, tmp_path, monkeypatch):
    """Refused after reading every network (identical weights): no folder, no table."""
    src, cmd = example
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    from benchmark.audit.arch import AuditError

    with pytest.raises(AuditError, match="identical weights"):
        audit([src / "net0.safetensors", src / "net1.safetensors", src / "net0.safetensors"], "benchmark.models.mlp:MLP",
              src / "mnist1d.npz", tmp_path / "out", (src / "arch.json").read_text())
    assert not (tmp_path / "out").exists()
