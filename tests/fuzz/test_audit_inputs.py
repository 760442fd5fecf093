"""Bad inputs to `claims audit` (issue 29): each is refused by `claims.main` with exit 2 and an error
naming the argument, file or field, before any probe runs, and nothing is written to --out.

Every case starts from one valid audit (two tiny MLPs with distinct weights, 12 test rows of 4
features, 3 classes; or two tiny BERTs with sentences) and breaks one thing. The valid audits pass
(test_the_valid_audits_pass), so each refusal is that one thing's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from benchmark.cli import main
from benchmark.models.mlp import MLP
from tests.conftest import REPO

ARCH = "benchmark.models.mlp:MLP"
KWARGS = {"d_in": 4, "hidden": [5], "n_classes": 3}
WORDS = ["the", "film", "is", "great", "bad", "a", "plot", "dull"]


def _mlp(seed: int) -> MLP:
    torch.manual_seed(seed)
    return MLP(**KWARGS)


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit-inputs")
    for i in range(2):
        save_file(_mlp(i).state_dict(), str(d / f"net{i}.safetensors"), metadata={"seed": str(i)})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 4)).astype(np.float32)
    y = np.arange(12) % 3
    _npz(d / "data.npz", x_test=x, y_test=y, x_train=x, y_train=y)
    return d


def _berts(d: Path) -> None:
    """Two tiny Hugging Face BERTs with their tokenizer, and sentences with word relevance (built
    on first use: only the text-encoder cases need transformers)."""
    if (d / "sentences.json").is_file():
        return
    transformers = pytest.importorskip("transformers")
    transformers.utils.logging.disable_progress_bar()
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]))
    for i in range(2):
        torch.manual_seed(i)
        cfg = transformers.BertConfig(vocab_size=13, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
                                      intermediate_size=16, max_position_embeddings=16)
        transformers.BertModel(cfg).save_pretrained(d / f"bert{i}")
        transformers.BertTokenizer(str(d / "vocab.txt")).save_pretrained(d / f"bert{i}")
    (d / "sentences.json").write_text(json.dumps({
        "sentences": [["the", "film", "is", "great"], ["a", "dull", "plot"], ["the", "plot", "is", "bad"]],
        "relevant": [[False, False, False, True], [False, True, None], [False, False, False, True]]}))


def _mlp_args(d: Path, out: Path, **over) -> list[str]:
    args = ["audit", "--model", str(d / "net0.safetensors"), "--model", str(d / "net1.safetensors"), "--arch", ARCH,
            "--arch-kwargs", json.dumps(KWARGS), "--data", str(d / "data.npz"), "--out", str(out),
            "--probe-params", json.dumps({"cumulative_ablation": {"orders": 2, "fractions": [0.0, 0.5, 1.0]}})]
    for flag, value in over.items():
        flag = "--" + flag.replace("_", "-")
        if value is None:  # drop the flag
            i = args.index(flag)
            del args[i:i + 2]
        elif flag == "--model":
            args = [a for i, a in enumerate(args) if not (a == "--model" or (i and args[i - 1] == "--model"))]
            args[1:1] = [x for m in value for x in ("--model", str(m))]
        elif flag in args:
            args[args.index(flag) + 1] = str(value)
        else:
            args += [flag, str(value)]
    return args


def _bert_args(d: Path, out: Path, *extra: str) -> list[str]:
    _berts(d)
    return ["audit", "--model", str(d / "bert0"), "--model", str(d / "bert1"), "--data", str(d / "sentences.json"),
            "--probe-params", json.dumps({"word_information": {"iterations": 2, "projections": 2}}), "--out", str(out), *extra]


# ------------------------------------------------------------------ the cases: (id, build(d, tmp) -> args, match)
def _meta_file(d, tmp, doc):
    p = tmp / "meta.json"
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return _mlp_args(d, tmp / "out", meta=p)


def _data(d, tmp, **arrays):
    return _mlp_args(d, tmp / "out", data=_npz(tmp / "bad.npz", **arrays))


def _x(n=12, width=4):
    return np.random.default_rng(1).normal(size=(n, width)).astype(np.float32)


def _with_header(d, tmp, **meta):
    from safetensors.torch import load_file

    save_file(load_file(str(d / "net1.safetensors")), str(tmp / "meta1.safetensors"), metadata=meta)
    return _mlp_args(d, tmp / "out", model=[d / "net0.safetensors", tmp / "meta1.safetensors"])


def _copy(d, tmp):
    shutil.copy(d / "net0.safetensors", tmp / "copy.safetensors")
    return _mlp_args(d, tmp / "out", model=[d / "net0.safetensors", tmp / "copy.safetensors"])


def _pickle(d, tmp):
    torch.save(_mlp(0), tmp / "full.pt")
    return _mlp_args(d, tmp / "out", model=[tmp / "full.pt", d / "net1.safetensors"])


def _script(d, tmp):
    torch.jit.save(torch.jit.script(torch.nn.Linear(4, 3)), str(tmp / "scripted.pt"))
    return _mlp_args(d, tmp / "out", model=[tmp / "scripted.pt", d / "net1.safetensors"])


def _object_npz(d, tmp):
    np.savez(tmp / "obj.npz", x_test=np.array([[1, "a"], [2, None]], dtype=object), y_test=np.array([0, 1]))
    return _mlp_args(d, tmp / "out", data=tmp / "obj.npz")


def _csv_npz(d, tmp):
    (tmp / "data.npz").write_text("x0,x1,x2,x3,y\n1,2,3,4,0\n")
    return _mlp_args(d, tmp / "out", data=tmp / "data.npz")


def _out_file(d, tmp):
    (tmp / "taken").write_text("a file")
    return _mlp_args(d, tmp / "taken")


def _system(d, tmp):
    marker = tmp / "ran"
    return _mlp_args(d, tmp / "out", arch="os:system", arch_kwargs=json.dumps({"command": f"touch {marker}"}))


def _masks(d, tmp):
    _npz(tmp / "m.npz", masks=np.zeros((5, 2, 4, 4), bool))
    return _mlp_args(d, tmp / "out", masks=tmp / "m.npz")


def _resnet(d, tmp, *extra):
    import torchvision

    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None, num_classes=3).state_dict(), tmp / "r.pt")
    _npz(tmp / "img.npz", x_test=np.zeros((6, 3, 8, 8), np.float32), y_test=np.arange(6) % 3)
    return ["audit", "--model", str(tmp / "r.pt"), "--arch", "torchvision:resnet18", "--arch-kwargs", '{"num_classes": 3}',
            "--data", str(tmp / "img.npz"), "--out", str(tmp / "out"), *extra]


def _hf_with(d, tmp, *extra):
    return _bert_args(d, tmp / "out", *extra)


def _text(d, tmp, doc):
    (tmp / "s.json").write_text(json.dumps(doc))
    args = _bert_args(d, tmp / "out")
    args[args.index("--data") + 1] = str(tmp / "s.json")
    return args


CASES = [
    ("arch-kwargs not JSON", lambda d, t: _mlp_args(d, t / "out", arch_kwargs="{d_in: 4"), r"--arch-kwargs: not valid JSON"),
    ("arch-kwargs a list", lambda d, t: _mlp_args(d, t / "out", arch_kwargs="[4, 5]"), r"--arch-kwargs: expected a JSON object"),
    ("arch-kwargs unknown kwarg", lambda d, t: _mlp_args(d, t / "out", arch_kwargs=json.dumps({**KWARGS, "depth": 3})),
     r"takes no argument 'depth'"),
    ("arch os:system", _system, r"--arch 'os:system' names a builtin_function_or_method 'system', which is neither"),
    ("arch builtins:eval", lambda d, t: _mlp_args(d, t / "out", arch="builtins:eval"), r"neither a torch.nn.Module subclass"),
    ("arch a non-module class", lambda d, t: _mlp_args(d, t / "out", arch="pathlib:Path"), r"names a class Path, which is neither"),
    ("arch without colon", lambda d, t: _mlp_args(d, t / "out", arch="benchmark.models.mlp.MLP"), r"expected 'package.module:Class'"),
    ("arch missing module", lambda d, t: _mlp_args(d, t / "out", arch="no_such_pkg_xyz:Net"), r"cannot import module 'no_such_pkg_xyz'"),
    ("arch missing attribute", lambda d, t: _mlp_args(d, t / "out", arch="benchmark.models.mlp:Nope"), r"has no attribute 'Nope'"),
    ("arch missing file", lambda d, t: _mlp_args(d, t / "out", arch=str(t / "nets.py") + ":Net"), r"nets.py is not a file"),
    ("arch unknown torchvision", lambda d, t: _mlp_args(d, t / "out", arch="torchvision:resnet7"), r"torchvision has no model builder 'resnet7'"),
    ("torchvision weights kwarg", lambda d, t: _mlp_args(d, t / "out", arch="torchvision:resnet18",
                                                         arch_kwargs=json.dumps({"weights": "DEFAULT"})), r"weights=None here"),
    ("no arch for weight files", lambda d, t: _mlp_args(d, t / "out", arch=None), r"--arch is required"),
    ("same file twice", lambda d, t: _mlp_args(d, t / "out", model=[d / "net0.safetensors", d / "net0.safetensors"]),
     r"net0.safetensors and --model .*net0.safetensors hold identical weights.*pseudo-replication"),
    ("identical weights, two names", _copy, r"net0.safetensors and --model .*copy.safetensors hold identical weights"),
    ("full pickle", _pickle, r"full.pt: a full pickle \(it names benchmark.models.mlp.MLP\) is refused"),
    ("TorchScript archive", _script, r"scripted.pt: a TorchScript archive is refused"),
    ("model file missing", lambda d, t: _mlp_args(d, t / "out", model=[t / "nope.pt", d / "net1.safetensors"]), r"--model .*nope.pt: not found"),
    ("weights do not fit", lambda d, t: _mlp_args(d, t / "out", arch_kwargs=json.dumps({**KWARGS, "hidden": [6]})),
     r"net0.safetensors: weights do not fit --arch"),
    ("seed 'abc'", lambda d, t: _with_header(d, t, seed="abc"), r"meta1.safetensors \(safetensors metadata\): field 'seed': expected an integer"),
    ("label_noise 'high'", lambda d, t: _with_header(d, t, label_noise="high"), r"field 'label_noise': expected .* got 'high'"),
    ("label_noise -3", lambda d, t: _with_header(d, t, label_noise="-3"), r"field 'label_noise': .*\[0, 1\], got '-3'"),
    ("meta seed 'abc'", lambda d, t: _meta_file(d, t, {"net0.safetensors": {"seed": "abc"}}), r"entry 'net0.safetensors': field 'seed'"),
    ("meta label_noise -3", lambda d, t: _meta_file(d, t, {"net1.safetensors": {"label_noise": -3}}), r"field 'label_noise'"),
    ("meta unknown field", lambda d, t: _meta_file(d, t, {"net0.safetensors": {"noise": 0.1}}), r"unknown field 'noise'"),
    ("meta names no model", lambda d, t: _meta_file(d, t, {"net9.safetensors": {"seed": 3}}), r"entry 'net9.safetensors' names no --model"),
    ("meta not JSON", lambda d, t: _meta_file(d, t, "{seed: 1"), r"--meta .*meta.json: not a JSON file"),
    ("meta duplicate seed", lambda d, t: _meta_file(d, t, {"net1.safetensors": {"seed": 0}}), r"share seed 0"),
    ("x_test of the wrong width", lambda d, t: _data(d, t, x_test=_x(width=5), y_test=np.arange(12) % 3),
     r"x_test rows of shape \(5,\) do not fit the network"),
    ("empty x_test", lambda d, t: _data(d, t, x_test=np.zeros((0, 4), np.float32), y_test=np.zeros(0, np.int64)),
     r"array 'x_test' has 0 row\(s\)"),
    ("one row", lambda d, t: _data(d, t, x_test=_x(1), y_test=np.array([0])), r"array 'x_test' has 1 row\(s\)"),
    ("object-array npz", _object_npz, r"array 'x_test' cannot be read without pickle"),
    ("CSV named .npz", _csv_npz, r"data.npz: not an .npz archive"),
    ("data missing", lambda d, t: _mlp_args(d, t / "out", data=t / "none.npz"), r"--data .*none.npz: not found"),
    ("y_test missing", lambda d, t: _data(d, t, x_test=_x()), r"needs arrays x_test and y_test; missing \['y_test'\]"),
    ("label >= n_classes", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(12) % 4), r"array 'y_test' row 3: label 3 >= n_classes \(3"),
    ("negative label", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(12) % 3 - 1), r"array 'y_test' row 0: label -1 is negative"),
    ("float labels", lambda d, t: _data(d, t, x_test=_x(), y_test=(np.arange(12) % 3) + 0.5), r"labels must be integers .* float64"),
    ("n_classes below the labels", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(12) % 3, n_classes=2),
     r"n_classes is 2, but the network has 3 outputs"),
    ("y_train label out of range", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(12) % 3, x_train=_x(),
                                                      y_train=np.arange(12) % 5), r"array 'y_train' row 3: label 3 >= n_classes"),
    ("x_train without y_train", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(12) % 3, x_train=_x()),
     r"x_train and y_train come together"),
    ("labels and rows differ", lambda d, t: _data(d, t, x_test=_x(), y_test=np.arange(11) % 3), r"array 'y_test' has 11 labels for 12 rows"),
    ("NaN in x_test", lambda d, t: _data(d, t, x_test=np.where(np.arange(48).reshape(12, 4) == 9, np.nan, _x()),
                                         y_test=np.arange(12) % 3), r"array 'x_test' row 2: not finite"),
    ("train_labels names a missing array", lambda d, t: _meta_file(d, t, {"net0.safetensors": {"train_labels": "y_noisy"}}),
     r"train_labels metadata names array 'y_noisy'"),
    ("out is a file", _out_file, r"--out .*taken: is a file"),
    ("layers missing", lambda d, t: _mlp_args(d, t / "out", layers="hidden.9"), r"--layers 'hidden.9': no module of that name"),
    ("layers a reused module", lambda d, t: _resnet(d, t, "--layers", "layer1.0.relu"), r"--layers 'layer1.0.relu': the module runs 2 times"),
    ("unknown probe", lambda d, t: _mlp_args(d, t / "out", probes="saliency"), r"--probes 'saliency': unknown probe"),
    ("text probe on images", lambda d, t: _mlp_args(d, t / "out", probes="word_information"), r"not a probe of an image or vector classifier"),
    ("dissection without masks", lambda d, t: _mlp_args(d, t / "out", probes="dissection"), r"--probes dissection: needs --masks"),
    ("probe-params not JSON", lambda d, t: _mlp_args(d, t / "out", probe_params="{orders"), r"--probe-params: not valid JSON"),
    ("probe-params unknown probe", lambda d, t: _mlp_args(d, t / "out", probe_params='{"ablate": {}}'), r"unknown probe 'ablate'"),
    ("probe-params unknown setting", lambda d, t: _mlp_args(d, t / "out", probe_params='{"cumulative_ablation": {"order": 3}}'),
     r"cumulative_ablation.order: unknown setting"),
    ("probe-params bad value", lambda d, t: _mlp_args(d, t / "out", probe_params='{"cumulative_ablation": {"orders": 0}}'),
     r"--probe-params: cumulative_ablation.orders: Input should be greater than or equal to 1"),
    ("masks of the wrong length", _masks, r"--masks .*m.npz: array 'masks' must be \(N=12"),
    ("masks for a vector classifier", lambda d, t: _mlp_args(d, t / "out", masks=_npz(t / "m.npz", masks=np.zeros((12, 1, 4, 4), bool))),
     r"--masks: dissection needs spatial unit layers"),
    ("HF layers missing", lambda d, t: _hf_with(d, t, "--layers", "encoder.layer.7.output"), r"--layers 'encoder.layer.7.output': no module"),
    ("HF with array data", lambda d, t: _hf_with(d, t, "--data", str(d / "data.npz")), r"--data .*data.npz: a text encoder reads sentences from a .json file"),
    ("HF with arch-kwargs", lambda d, t: _hf_with(d, t, "--arch-kwargs", "{\"hidden\": 3}"), r"built from its own config.json"),
    ("HF mixed with weight files", lambda d, t: _hf_with(d, t, "--model", str(d / "net0.safetensors")), r"cannot be mixed"),
    ("sentences: relevance all true", lambda d, t: _text(d, t, {"sentences": [["the", "film"], ["a", "plot"]],
                                                            "relevant": [[True, True], [True, None]]}),
     r"field 'relevant': needs both relevant and irrelevant words"),
    ("sentences: relevance of the wrong length", lambda d, t: _text(d, t, {"sentences": [["the", "film"], ["a", "plot"]],
                                                                      "relevant": [[True, False], [True]]}),
     r"field 'relevant' item 1: expected 2 values"),
]


@pytest.mark.parametrize("build, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_by_name(base, tmp_path, monkeypatch, capsys, build, match):
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    args = build(base, tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert __import__("re").search(match, err), err
    out = Path(args[args.index("--out") + 1])
    assert not (out.is_dir() and any(out.iterdir())), "nothing is written for a refused input"
    assert not (tmp_path / "ran").exists(), "--arch os:system must not run"


def test_the_valid_audits_pass(base, tmp_path, monkeypatch, capsys):
    """The starting points of the cases above are accepted: each refusal is its one change's."""
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(REPO))
    assert main(_mlp_args(base, tmp_path / "mlp")) == 0
    assert (tmp_path / "mlp" / "evidence" / "unit_ablation.csv").is_file()
    assert main(_bert_args(base, tmp_path / "bert")) == 0
    assert (tmp_path / "bert" / "evidence" / "layer_measures.csv").is_file()
    capsys.readouterr()
