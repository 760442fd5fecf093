"""The machine class a result was computed on: what decides whether the same code gives the same bytes.

Float rounding differs between CPU classes (vendor, micro-architecture, the instruction sets the
kernels dispatch to) and between library builds, and sends training down another path: the same
seeds on an Intel Xeon and an AMD EPYC give no identical estimate. Within one class the suite is
byte-for-byte deterministic (one thread per process, deterministic kernels). The gate uses the
class to choose its mode: exact against a baseline of the same class, statistical otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
from pathlib import Path

# instruction sets that change which kernels torch, oneDNN, MKL and OpenBLAS dispatch to
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_vnni",
             "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "asimd", "sve", "sve2")
_CLASS_KEYS = ("arch", "cpu_vendor", "cpu_family", "cpu_model_number", "cpu_model", "isa", "torch", "torch_cpu_capability",
               "numpy", "blas_coretype", "threads")


def _cpuinfo(text: str) -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if out:
                break
            continue
        key, _, value = line.partition(":")
        out.setdefault(key.strip(), value.strip())
    return out


def describe(cpuinfo: str | None = None) -> dict[str, object]:
    """The fields that define the class, plus its id (a hash of them)."""
    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.is_file() else ""
    info = _cpuinfo(cpuinfo)
    flags = set((info.get("flags") or info.get("Features") or "").split())
    try:
        import numpy
        import torch

        torch_version, capability, numpy_version = torch.__version__, torch.backends.cpu.get_cpu_capability(), numpy.__version__
    except Exception:  # noqa: BLE001 - a machine without torch still has a class
        torch_version = capability = numpy_version = "unknown"
    fields: dict[str, object] = {
        "arch": platform.machine(),
        "cpu_vendor": info.get("vendor_id") or info.get("CPU implementer") or "unknown",
        "cpu_family": info.get("cpu family") or info.get("CPU architecture") or "unknown",
        "cpu_model_number": info.get("model") or info.get("CPU part") or "unknown",
        "cpu_model": info.get("model name") or "unknown",
        "isa": sorted(flags & set(ISA_FLAGS)),
        "torch": torch_version,
        "torch_cpu_capability": capability,
        "numpy": numpy_version,
        "blas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "threads": 1,  # every stage pins one thread per process (benchmark.determinism)
    }
    fields["class_id"] = class_id(fields)
    return fields


def class_id(fields: dict[str, object]) -> str:
    """A short, readable id: vendor and family/model, then a hash of every class field."""
    payload = json.dumps({k: fields.get(k) for k in _CLASS_KEYS}, sort_keys=True)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:10]
    vendor = str(fields.get("cpu_vendor", "cpu")).replace("Genuine", "").replace("Authentic", "").lower() or "cpu"
    return f"{vendor}-f{fields.get('cpu_family')}m{fields.get('cpu_model_number')}-{digest}"


@functools.cache
def current() -> dict[str, object]:
    """This machine's class (computed once per process)."""
    return describe()
