"""Where torch work runs, chosen in one place: params.yaml `device: auto | cpu | cuda`.

`auto` takes a CUDA GPU when torch sees one, else the CPU. The embedded suite runs on the CPU
whatever this says (its verdicts are pinned to CPU bytes); the paper-scale trainers and probes take
the device from here.

Determinism: on the CPU the suite's one-thread rule gives same seed, same bytes. On a GPU we set
every flag torch has (deterministic algorithms, cuDNN deterministic and no autotuning, a fixed
cuBLAS workspace), which gives same seed, same bytes on the same GPU model, driver and library
versions; not across GPU models.

Mixed precision (params.yaml `amp: true`, off by default) is used only for the forward and
backward passes of training, never when a probe measures anything: selectivity, ablation
accuracy, IoU, corruption and attack accuracy are all computed in float32 from the trained
weights. bf16 training changes which network a seed gives (as a different GPU would), not how the
claim's quantity is measured on it.
"""

from __future__ import annotations

import contextlib
import os

from benchmark.errors import ParamsError

DEVICES = ("auto", "cpu", "cuda")


def select_device(choice: str = "auto", path: str = "params.yaml") -> "torch.device":
    import torch

    if choice not in DEVICES:
        raise ParamsError(path, "device", f"unknown device {choice!r}; expected one of {DEVICES}")
    if choice == "cuda" and not torch.cuda.is_available():
        raise ParamsError(path, "device", "cuda requested but torch sees no CUDA GPU (use auto or cpu)")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


def device_from_params(params: dict) -> "torch.device":
    return select_device(params.get("device", "auto"), params.get("_path", "params.yaml"))


# this process's paper-scale settings (device, amp, epoch cap, where paper_data points)
_ACTIVE = {"device": "auto", "amp": False, "max_epochs": None, "paper_data": {}, "root": None}


def configure(params: dict) -> None:
    """Record params' `device` and `amp` for this process (load_params calls it; a Ray worker,
    which never loads params, keeps `auto`: the GPU Ray gave it, else the CPU)."""
    path = params.get("_path", "params.yaml")
    if params.get("device", "auto") not in DEVICES:
        raise ParamsError(path, "device", f"unknown device {params.get('device')!r}; expected one of {DEVICES}")
    amp = params.get("amp", False)
    if not isinstance(amp, bool):
        raise ParamsError(path, "amp", f"must be true or false, got {amp!r}")
    cap = params.get("paper_max_epochs")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or cap < 1):
        raise ParamsError(path, "paper_max_epochs", f"must be null or a positive integer, got {cap!r}")
    from pathlib import Path

    _ACTIVE.update(device=params.get("device", "auto"), amp=amp, max_epochs=cap,
                   paper_data=dict(params.get("paper_data") or {}), root=str(Path(path).resolve().parent))


def snapshot() -> dict:
    """This process's settings, for jobs that run elsewhere (Ray workers never load params)."""
    return dict(_ACTIVE)


def restore(settings: dict) -> None:
    _ACTIVE.update(settings)


def max_epochs(epochs: int) -> int:
    """`epochs`, capped by params' `paper_max_epochs` (smoke runs on fixture data; null: no cap)."""
    return epochs if _ACTIVE["max_epochs"] is None else min(epochs, _ACTIVE["max_epochs"])


def active() -> tuple["torch.device", bool]:
    """(device, amp) for the paper-scale trainers and probes of this process."""
    return select_device(_ACTIVE["device"]), bool(_ACTIVE["amp"])


def set_deterministic(device: "torch.device") -> None:
    """Every determinism switch torch offers for this device (see the module docstring); the
    deterministic-algorithms switch as benchmark.determinism sets it (eager kernels, without the
    ~2 CPU-s import of torch._inductor per process and pool worker: the suite never compiles)."""
    import torch

    from benchmark.determinism import deterministic_kernels

    if device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    deterministic_kernels()


def training_autocast(device: "torch.device", amp: bool):
    """bf16 autocast for training passes when `amp` and on a GPU; a no-op otherwise."""
    import torch

    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()

