"""`claims audit`: bring your own networks. The README's example (MLPs trained by the suite and
loaded back as user models), one network (`inconclusive (1 replicate)`), an arbitrary nn.Module
read through hooks, dissection with masks, and weights that are not safetensors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from benchmark.atomic import read_json
from benchmark.audit import HookedUnits, load_user_models, run_probes, load_data
from benchmark.audit_example import make_example
from benchmark.cli import main
from tests.conftest import REPO

CLAIM = "morcos2018.selectivity-not-importance"


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
    assert "morcos2018.generalizers-resist-ablation" in res["not_tested"]  # no label_noise given
    assert "label_noise" in res["not_tested"]["morcos2018.generalizers-resist-ablation"]
    rec = read_json(tmp_path / "report" / "verdicts" / f"{CLAIM}.json")
    assert rec["result"]["n"] == 6 and rec["evidence"]["replicates"] == [str(s) for s in range(6)]
    for name in ("report.md", "report.html", "claims.json", "claims.tex", "references.bib", "figures/forest.png"):
        assert (tmp_path / "report" / name).is_file(), name
    assert res["report_id"] in (tmp_path / "report" / "report.html").read_text()
    assert "Audit of your networks" in (tmp_path / "report" / "report.md").read_text()
    assert CLAIM in printed and "not tested" in printed


def test_one_network_says_so(example, tmp_path, monkeypatch, capsys):
    src, cmd = example
    one = cmd[:2] + ["--model", str(src / "net0.safetensors")] + cmd[cmd.index("--arch"):]
    printed = _run(one, tmp_path / "one", monkeypatch, capsys)
    assert f"inconclusive (1 replicate)  {CLAIM}" in printed
    md = (tmp_path / "one" / "report.md").read_text()
    assert "INCONCLUSIVE (1 replicate, needs 5)" in md


def test_weights_are_never_unpickled(example, tmp_path, monkeypatch, capsys):
    src, cmd = example
    pickled = tmp_path / "net.pt"
    torch.save({"hidden.0.weight": torch.zeros(2, 2)}, pickled)
    bad = cmd[:2] + ["--model", str(pickled)] + cmd[cmd.index("--arch"):]
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    bad[bad.index("--out") + 1] = str(tmp_path / "bad")
    assert main(bad[1:]) == 2
    assert "not a readable safetensors file" in capsys.readouterr().err


class SmallConv(nn.Module):
    """A user network with no unit protocol: units are read at its nn.ReLU modules."""

    def __init__(self, channels: int = 4, n_classes: int = 3):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(channels, n_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


def test_any_module_through_hooks_with_dissection(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))  # --arch imports the test module by name
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
    nets = load_user_models([tmp_path / "c.safetensors"], "tests.test_audit:SmallConv")
    assert isinstance(nets[0].model, HookedUnits) and nets[0].meta["seed"] == 7
    frames = run_probes(nets, load_data(tmp_path / "d.npz", tmp_path / "m.npz"))
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
    dis = frames["dissection"]
    assert len(dis) == 2 * 4 * 2 and set(dis["concept"]) == {"top", "bottom"} and dis["iou"].between(0, 1).all()
    assert "label_noise" not in frames["ablation_auc"].columns
    assert json.loads(frames["ablation_auc"].to_json(orient="records"))[0]["seed"] == 7
