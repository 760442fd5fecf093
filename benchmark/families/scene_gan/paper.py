"""The paper scale's adapter: user-supplied Progressive-GAN generators (the replicates), the user's
segmenter and the LSUN church images, handed to the same probes instead of networks trained here.

Nothing is trained: bau2020 dissected the published generators. The training steps write a
manifest (which files, their SHA-256, the architecture read off each file) so DVC's graph stays the
one of the embedded scale; the probe step loads the generators from the manifest and refuses a
file whose bytes changed since (re-run `dvc repro -f train_scene_gan` after replacing weights in
place: DVC tracks the paths through params, not the files' bytes).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from benchmark.data.registry import paper_path
from benchmark.errors import DataError

WEIGHT_SUFFIXES = (".safetensors", ".pth", ".pt")
EXPERIMENT = "scene_gan"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generator_files(path: Path) -> list[Path]:
    """`paper_data.gan_weights`: one weights file, or a folder of them (one generator each, sorted
    by name: the replicates of the claims)."""
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES)
        if files:
            return files
        raise DataError(f"{path}: no generator weights ({', '.join(WEIGHT_SUFFIXES)}) in this folder")
    raise DataError(f"{path}: generator weights not found (paper_data.gan_weights: a file or a folder of them; "
                    "see README 'Paper scale')")


def manifest(params: dict) -> dict[str, dict]:
    """One entry per supplied generator: {seed (its index: the replicate's id), file, sha256,
    resolution, nz, channels}."""
    from benchmark.models.paper_gan import architecture

    out = {}
    for i, f in enumerate(generator_files(paper_path("gan_weights", params))):
        out[f"generator={i}"] = {"seed": i, "file": str(f.resolve()), "name": f.name, "sha256": sha256(f),
                                 **architecture(f)}
    return out


class OnDevice:
    """A generator run on this process's device (benchmark.devices), exchanging CPU tensors with
    the probe: the probe's edits and statistics stay on the CPU, the convolutions go to the GPU."""

    def __init__(self, g, device):
        self.g, self.device, self.nz, self.resolution = g.to(device), device, g.nz, g.resolution

    def layer_width(self, layer: int) -> int:
        return self.g.layer_width(layer)

    def features(self, z, layer: int):
        return self.g.features(z.to(self.device), layer).cpu()

    def resume(self, h, layer: int):
        return self.g.resume(h.to(self.device), layer).cpu()

    def __call__(self, z):
        return self.g(z.to(self.device)).cpu()


def build_generator(entry: dict) -> OnDevice:
    """The generator of a manifest entry (module-level: shipped to process/Ray workers by name)."""
    import torch

    from benchmark.devices import active, set_deterministic
    from benchmark.models.paper_gan import load_generator

    path = Path(entry["file"])
    if not path.is_file() or sha256(path) != entry["sha256"]:
        raise DataError(f"{path}: missing or changed since train_scene_gan recorded it; "
                        "re-run `dvc repro -f train_scene_gan`")
    device = active()[0]
    if device.type == "cuda":
        set_deterministic(device)
    with torch.no_grad():
        return OnDevice(load_generator(path), device)


def load_segmenter(params: dict, need: tuple[str, ...]):
    """The user's segmenter; every concept the claims name must be one of its concepts."""
    from benchmark.models.paper_segmenter import load_segmenter as load

    folder = paper_path("segmenter", params)
    seg = load(folder)
    missing = [c for c in need if c not in seg.concepts]
    if missing:
        raise DataError(f"{folder / 'concepts.json'}: concepts {missing} missing; the claims measure "
                        f"{list(need)} (bau2020 names them as Broden does)")
    return seg


def lsun_images(params: dict, size: int, start: int, n: int):
    """LSUN church images start..start+n (sorted by path) as (N, 3, size, size) floats in [-1, 1]."""
    import numpy as np
    import torch

    from benchmark.data.image_folders import lsun_folder

    data = lsun_folder(paper_path("lsun_church", params), size=size)
    if len(data) < start + n:
        raise DataError(f"{paper_path('lsun_church', params)}: {len(data)} images, the probe needs {start + n} "
                        "(quality_samples real images and as many again for the real-vs-real floor)")
    arr = np.stack([data[i][0].numpy() for i in range(start, start + n)]).astype(np.float32)
    return torch.from_numpy(arr / 127.5 - 1.0)


# ------------------------------------------------------------------ the steps' paper-scale halves
def record_segmenter(params: dict, cfg) -> None:
    """train_scene_gan_segmenter at paper scale: record the user's segmenter (nothing trained) and
    write the scenes section on LSUN church images."""
    import numpy as np
    import pandas as pd
    import torch

    from benchmark.atomic import write_csv, write_text
    from benchmark.experiments.store import save_models
    from benchmark.families.scene_gan.probes import to_uint8
    from benchmark.families.scene_gan.report import paper_scenes_section
    from benchmark.paths import evidence_path, models_path
    from benchmark.reporting.scene_gan import grid

    seg = load_segmenter(params, ("tree", "door", cfg.probe.classifier_concept))
    folder = Path(seg.folder)
    save_models(models_path("scene_segmenter"), {}, {"segmenter": {
        "paper": True, "folder": str(folder.resolve()), "sha256": sha256(Path(seg.file)),
        "concepts": seg.concepts}})
    real = lsun_images(params, 256, 0, 12)
    with torch.no_grad():
        pred = seg.labels(real).numpy()
    ious = [seg.validation_iou[c] for c in seg.concepts]
    pixels = np.bincount(pred.ravel(), minlength=len(seg.concepts))
    table = evidence_path(EXPERIMENT, "segmenter_iou")
    write_csv(table, pd.DataFrame({"concept": seg.concepts, "iou": ious, "pixels": pixels}))
    pic = evidence_path(EXPERIMENT, "scenes_grid").with_suffix(".png")
    grid([("LSUN church", to_uint8(real)), ("segmenter", pred)], pic, concepts=seg.concepts)
    write_text(evidence_path(EXPERIMENT, "section_scenes").with_suffix(".md"),
               paper_scenes_section(seg, params, ious, pixels, pic.relative_to(table.parents[2])))
    print(f"paper scale: segmenter {folder} recorded ({len(seg.concepts)} concepts); nothing trained")


def record_generators(params: dict, cfg) -> None:
    """train_scene_gan at paper scale: the manifest of the user's generators (nothing trained)."""
    from benchmark.steps import publish_training

    entries = manifest(params)
    layer = cfg.probe.layer
    rows = [{"generator": e["seed"], "file": e["name"], "sha256": e["sha256"][:16], "resolution": e["resolution"],
             "nz": e["nz"], "layer_width": e["channels"][layer - 1] if layer <= len(e["channels"]) else -1}
            for e in entries.values()]
    publish_training(EXPERIMENT, {name: {} for name in entries}, entries, rows, ("generator", "file", "sha256"), params,
                     {"gan_weights": str(paper_path("gan_weights", params))})
    print(f"paper scale: {len(entries)} user generator(s) recorded ({', '.join(e['name'] for e in entries.values())}); "
          "nothing trained")


def probe_inputs(params: dict, p):
    """What the probe step measures at paper scale (benchmark.families.scene_gan.probes.ProbeInputs)."""
    import functools

    from benchmark.errors import ParamsError
    from benchmark.experiments.store import load_models
    from benchmark.families.scene_gan.probes import ProbeInputs, Vocab
    from benchmark.families.scene_gan.report import paper_section
    from benchmark.paper.fixtures import fixture_note
    from benchmark.paths import models_path

    _, meta = load_models(models_path(EXPERIMENT))
    res0 = {m["resolution"] for m in meta.values()}
    if len(res0) != 1:
        raise DataError(f"{models_path(EXPERIMENT)}: the generators have resolutions {sorted(res0)}; probe one resolution at a time")
    for m in meta.values():
        if p.layer >= len(m["channels"]):
            raise ParamsError(params.get("_path", "params.yaml"), "gan_dissection.paper.probe.layer",
                              f"{m['name']} has layers 1-{len(m['channels'])}; layer {p.layer} leaves nothing to resume")
    size = res0.pop()
    seg = load_segmenter(params, ("tree", "door", p.classifier_concept))
    n = p.quality_samples
    by_seed = {m["seed"]: m for m in meta.values()}
    return ProbeInputs(nets={k: {} for k in meta}, meta=meta, seg=seg, seg_iou=seg.validation_iou,
                       real=lsun_images(params, size, 0, n), real_ref=lsun_images(params, size, n, n),
                       vocab=Vocab(tuple(seg.concepts), size), generator=lambda seed: build_generator(by_seed[seed]),
                       section=functools.partial(paper_section, note=fixture_note(params)), build=build_generator,
                       concepts=tuple(seg.concepts))
