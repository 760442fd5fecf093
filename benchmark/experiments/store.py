"""All networks of one experiment in one safetensors file (deterministic bytes, no pickle).

Keys are `<network>/<parameter>`; the header metadata carries each network's architecture and
condition, so probes can rebuild models without reading params.yaml.
"""

from __future__ import annotations

from benchmark import replicates

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file, safe_open

from benchmark.atomic import atomic_path
from benchmark.errors import DataError


def network_name(seed: int, label_noise: float) -> str:
    return replicates.name(("seed", seed), ("noise", float(label_noise)))


def save_models(path: Path, networks: dict[str, dict[str, torch.Tensor]], meta: dict[str, dict]) -> None:
    tensors = {f"{name}/{k}": v.contiguous() for name, state in networks.items() for k, v in state.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"networks": json.dumps(meta, sort_keys=True)})


def load_models(path: Path) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, dict]]:
    if not path.is_file():
        raise DataError(f"{path}: model file missing; run its training stage (dvc repro)")
    try:
        with safe_open(str(path), "pt") as fh:
            meta = json.loads(fh.metadata()["networks"])
        flat = load_file(str(path))
    except Exception as exc:  # safetensors raises several types on a corrupt file
        raise DataError(f"{path}: unreadable model file ({exc})") from None
    nets: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        name, param = key.split("/", 1)
        nets.setdefault(name, {})[param] = value
    return nets, meta
