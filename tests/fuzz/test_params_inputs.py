"""Bad params.yaml: refused as a whole by one schema, with the same message at `claims validate`
and at the start of a stage (exit 2, params.yaml and the dotted param named), before anything is
trained or written."""

from __future__ import annotations

import copy

import pytest

from tests.badinput import M1, mutate, real_params, refused, write
from tests.conftest import REPO

REAL = real_params()
SEL = "experiments.morcos_selectivity.embedded"
NAN, INF = float("nan"), float("inf")

# (id, dotted param, value (... deletes it), param the error names)
CASES = [
    ("epochs-true", f"{SEL}.epochs", True, f"{SEL}.epochs"),
    ("epochs-1e30", f"{SEL}.epochs", 10**30, f"{SEL}.epochs"),
    ("epochs-float", f"{SEL}.epochs", 60.0, f"{SEL}.epochs"),
    ("epochs-text", f"{SEL}.epochs", "60", f"{SEL}.epochs"),
    ("epochs-zero", f"{SEL}.epochs", 0, f"{SEL}.epochs"),
    ("lr-inf", f"{SEL}.lr", INF, f"{SEL}.lr"),
    ("lr-nan", f"{SEL}.lr", NAN, f"{SEL}.lr"),
    ("lr-word", f"{SEL}.lr", "fast", f"{SEL}.lr"),
    ("lr-bool", f"{SEL}.lr", False, f"{SEL}.lr"),
    ("seeds-bool", f"{SEL}.seeds", [True, 2], f"{SEL}.seeds.0"),
    ("seeds-twice", f"{SEL}.seeds", [1, 1], f"{SEL}.seeds"),
    ("seeds-huge", f"{SEL}.seeds", [2**40], f"{SEL}.seeds.0"),
    ("hidden-text", f"{SEL}.hidden", "128", f"{SEL}.hidden"),
    ("label-noise-beyond-1", f"{SEL}.label_noise", [2.0], f"{SEL}.label_noise"),
    ("unknown-key-in-block", f"{SEL}.momentum", 0.9, f"{SEL}.momentum"),
    ("unknown-experiment", "experiments.nope", {"embedded": {}}, "experiments.nope"),
    ("unknown-scale-block", "experiments.morcos_selectivity.huge", {}, "experiments.morcos_selectivity.huge"),
    ("missing-active-scale", SEL, ..., SEL),
    ("paper-block-bad", "experiments.morcos_selectivity.paper.epochs", True,
     "experiments.morcos_selectivity.paper.epochs"),
    ("experiment-not-mapping", "experiments.morcos_selectivity", [1], "experiments.morcos_selectivity"),
    ("sweep-alpha-nan", "experiments.leavitt_selectivity.embedded.alphas", [NAN, 0.0, 1.0],
     "experiments.leavitt_selectivity.embedded.alphas.0"),
    ("sweep-net-unknown-key", "experiments.leavitt_selectivity.embedded.nets.0.depth", 3,
     "experiments.leavitt_selectivity.embedded.nets.0.depth"),
    ("extension-seeds-text", "experiments.leavitt_selectivity_extension.embedded.seeds.digits", ["a"],
     "experiments.leavitt_selectivity_extension.embedded.seeds.digits.0"),
    ("reliance-group-true", "experiments.morcos_ensemble.embedded.group_size", True,
     "experiments.morcos_ensemble.embedded.group_size"),
    ("unknown-top-level", "epochs", 5, "param 'epochs'"),
    ("workers-true", "workers", True, "workers"),
    ("workers-zero", "workers", 0, "workers"),
    ("seed-offset-negative", "seed_offset", -1, "seed_offset"),
    ("seed-offset-float", "seed_offset", 1.5, "seed_offset"),
    ("scale-unknown", "scale", "huge", "scale"),
    ("amp-number", "amp", 1, "amp"),
    ("device-unknown", "device", "gpu", "device"),
    ("executor-unknown", "executor", "slurm", "executor"),
    ("ray-address-number", "ray_address", 5, "ray_address"),
    ("max-epochs-true", "paper_max_epochs", True, "paper_max_epochs"),
    ("data-num-samples-true", "data.mnist1d.num_samples", True, "data.mnist1d.num_samples"),
    ("data-unknown-key", "data.mnist1d.noise", 0.1, "data.mnist1d.noise"),
    ("data-unknown-dataset", "data.cifar", {}, "data.cifar"),
    ("paper-data-unknown", "paper_data.imagenet", "x", "paper_data.imagenet"),
    ("paper-data-number", "paper_data.root", 5, "paper_data.root"),
    ("calibration-zero", "calibration.simulations", 0, "calibration.simulations"),
    ("calibration-seed-true", "calibration.seed", True, "calibration.seed"),
    ("probe-unknown", "probes.nope", {}, "probes.nope"),
    ("probe-unknown-key", "probes.unit_ablation.layers", [0], "probes.unit_ablation.layers"),
    ("probe-orders-huge", "probes.cumulative_ablation.orders", 10**12, "probes.cumulative_ablation.orders"),
    ("course-window-true", "probes.course_summary.window", True, "probes.course_summary.window"),
    ("gan-iterations-1e12", "gan_dissection.embedded.gan.iterations", 10**12, "gan_dissection.embedded.gan.iterations"),
    ("word-model-unknown", "word_information.embedded.models", ["bert"], "word_information.embedded.models.0"),
    ("feature-vis-scale-short", "feature_vis.embedded.transforms.scale", [0.9],
     "feature_vis.embedded.transforms.scale"),
    ("classifier-seeds-float", "scene_classifier.embedded.seeds", [1.0], "scene_classifier.embedded.seeds.0"),
    ("dissection-quantile-inf", "classifier_dissection.embedded.probe.iou_cutoff", INF,
     "classifier_dissection.embedded.probe.iou_cutoff"),
]


def _params(dotted: str, value) -> dict:
    """The real file's top level and the one section (experiment) that `dotted` changes: every
    section is optional to the schema, and 30 KB of YAML per case would cost a tenth of a second."""
    data = {k: copy.deepcopy(v) for k, v in REAL.items() if not isinstance(v, dict)}
    head, *rest = dotted.split(".")
    if head not in REAL:  # a new top-level key
        data[dotted] = value
        return data
    if isinstance(REAL[head], dict):
        data[head] = copy.deepcopy(REAL[head]) if head != "experiments" else {
            rest[0]: copy.deepcopy(REAL[head].get(rest[0], {}))}
    return mutate(data, dotted, value)


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "claims").mkdir(parents=True)
    (root / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.setenv("INTERP_CLAIMS_ROOT", str(root))
    return root


@pytest.mark.parametrize("name, dotted, value, named", CASES, ids=[c[0] for c in CASES])
def test_a_bad_param_is_refused_by_claims_validate(name, dotted, value, named, project, capsys):
    params = write(project / "params.yaml", _params(dotted, value))
    refused(["validate", M1], capsys, str(params), named)


def _stage_error(capsys) -> str:
    from benchmark.stages import train

    assert train.main(["morcos", "mlp", "morcos_selectivity"]) == 2
    return capsys.readouterr().err


SAME = ["epochs-true", "epochs-1e30", "unknown-experiment", "probe-unknown-key", "gan-iterations-1e12", "workers-true"]


@pytest.mark.parametrize("name", SAME)
def test_a_stage_says_the_same_before_any_work(name, project, capsys):
    _, dotted, value, _ = next(c for c in CASES if c[0] == name)
    write(project / "params.yaml", _params(dotted, value))
    err = refused(["validate", M1], capsys)
    assert _stage_error(capsys) == err
    assert not (project / "models").exists() and not (project / "evidence").exists()


RAW = [
    ("duplicated-key", (REPO / "params.yaml").read_text().replace("workers: 2\n", "workers: 2\nworkers: 1\n"),
     "'workers' appears twice"),
    ("latin-1", (REPO / "params.yaml").read_text().replace("# Active", "# \u00c4ctive").encode("latin-1"), "not UTF-8"),
    ("not-a-mapping", "- scale: embedded\n", "<root>"),
    ("bomb", 'scale: embedded\nx: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n' + "".join(
        f"x{i}: &a{i} [{', '.join([f'*a{i - 1}' if i > 1 else '*a'] * 10)}]\n" for i in range(1, 9)), "expands to more than"),
    ("yaml-syntax", "scale: [embedded\n", "<yaml line"),
]


@pytest.mark.parametrize("name, content, named", RAW, ids=[r[0] for r in RAW])
def test_a_broken_params_file_is_refused(name, content, named, project, capsys):
    params = write(project / "params.yaml", content)
    refused(["validate", M1], capsys, str(params), named)


def test_params_as_a_directory_is_refused(project, capsys):
    (project / "params.yaml").mkdir()
    refused(["validate", M1], capsys, str(project / "params.yaml"), "is a directory")


def test_the_real_params_validate_and_dvc_exponent_floats_read_as_numbers(project, capsys):
    """What `dvc exp run -S ...lr=0.00001` writes (1e-05, a string in YAML 1.1) is a number."""
    import re

    text, n = re.subn(r"(\n  morcos_selectivity:\n(?:    .*\n)*?      lr: )[0-9.e-]+", r"\g<1>1e-05", (REPO / "params.yaml").read_text(), count=1)
    assert n == 1, "experiments.morcos_selectivity.embedded.lr not found in params.yaml"
    write(project / "params.yaml", text)
    from benchmark.config import MLPExperiment, load_params, section

    assert section(load_params(), "experiments.morcos_selectivity", MLPExperiment).lr == 1e-05
    assert len(CASES) + len(RAW) >= 50


def test_the_schema_pairs_each_name_with_the_model_its_code_reads():
    """config.PROBES / config.DATA name the same models and functions as the probe and data
    registries (read there without importing torch); every real section is in the schema."""
    from benchmark import config
    from benchmark.data.registry import EMBEDDED, WRITERS
    from benchmark.families.leavitt import probes as _leavitt  # noqa: F401  each family registers its probes
    from benchmark.families.morcos import probes as _morcos  # noqa: F401
    from benchmark.families.morcos.summary import CourseSummary
    from benchmark.probes.registry import PROBES

    models = {k: config._resolve(v) for k, v in config.PROBES.items()}
    assert {k: m for k, m in models.items() if k in PROBES} == {k: p.config for k, p in PROBES.items()}
    assert set(models) - set(PROBES) == {"course_summary"} and models["course_summary"] is CourseSummary

    assert {k: config._attr(v) for k, v in config.DATA.items()} == {**EMBEDDED, **WRITERS}
    sections = set(config.TopLevel.model_fields) | set(config.SCHEMA) | {"experiments", "probes"}
    assert set(REAL) <= sections and set(REAL["experiments"]) == set(config.EXPERIMENTS)
