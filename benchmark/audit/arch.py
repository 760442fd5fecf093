"""`--arch`: what builds the user's network, resolved and checked before anything is called.

Threat model: the audit runs the user's own model code by design, as importing it would (the
module named by `--arch` is imported, a `file.py` is executed as a module). What it never does is
call something that is not a model builder: the resolved object must be a `torch.nn.Module`
subclass or one of torchvision's model builders (`torchvision.models.list_models()`), checked
before it is called, so `--arch os:system` is refused without running anything. Keyword
arguments are bound to the builder's signature before the call; torchvision builders always get
`weights=None` (and `weights_backbone=None`): nothing is ever downloaded, the weights are the
user's file. Hugging Face directories are built by transformers from their own config.json
(offline, never with remote code).

Forms:  package.module:Class      imported (the current directory is on the path, no PYTHONPATH)
        path/to/file.py:Class     that file, imported as a module under a private name
        torchvision:resnet18      a torchvision model builder by name
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any, Callable

from torch import nn

from benchmark.errors import BenchmarkError


class AuditError(BenchmarkError):
    """A bad `claims audit` input: names the argument, file or field at fault."""


@dataclasses.dataclass(frozen=True)
class Arch:
    spec: str
    builder: Callable[..., nn.Module]
    kind: str                      # "module" (an nn.Module subclass) or "torchvision" (an allow-listed builder)

    def build(self, kwargs: dict[str, Any]) -> nn.Module:
        """The network, built with `kwargs` (already checked against the signature)."""
        extra = {}
        if self.kind == "torchvision":
            params = inspect.signature(self.builder).parameters
            extra = {k: None for k in ("weights", "weights_backbone") if k in params}
        try:
            model = self.builder(**kwargs, **extra)
        except Exception as exc:  # noqa: BLE001 - the user's constructor: any failure is a bad argument
            raise AuditError(f"--arch {self.spec!r} with --arch-kwargs {json.dumps(kwargs)}: building the network failed "
                             f"({type(exc).__name__}: {exc})") from None
        if not isinstance(model, nn.Module):
            raise AuditError(f"--arch {self.spec!r} built a {type(model).__name__}, not a torch.nn.Module")
        return model


def torchvision_builders() -> dict[str, Callable]:
    from torchvision import models

    return {name: models.get_model_builder(name) for name in models.list_models()}


def _import_file(path: Path, spec: str):
    if not path.is_file():
        raise AuditError(f"--arch {spec!r}: {path} is not a file")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    name = f"_claims_audit_arch_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise AuditError(f"--arch {spec!r}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.parent))  # the file's own sibling imports work, as when run from there
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module failed to import
        del sys.modules[name]
        raise AuditError(f"--arch {spec!r}: importing {path} failed ({type(exc).__name__}: {exc})") from None
    finally:
        sys.path.remove(str(path.parent))
    return module


def _import_module(mod: str, spec: str):
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:
        sys.path.insert(0, cwd)  # `mynets:Net` from the folder the user runs in, without PYTHONPATH
    try:
        return importlib.import_module(mod)
    except ImportError as exc:
        raise AuditError(f"--arch {spec!r}: cannot import module {mod!r} ({exc}); name a file instead "
                         f"(--arch path/to/{mod.replace('.', '/')}.py:Class)") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed at import time
        raise AuditError(f"--arch {spec!r}: importing {mod!r} failed ({type(exc).__name__}: {exc})") from None
    finally:
        if added:
            sys.path.remove(cwd)


def resolve_arch(spec: str) -> Arch:
    """The builder `spec` names, refused unless it is an nn.Module subclass or a torchvision model
    builder. Nothing it names is called here."""
    where, sep, name = str(spec).rpartition(":")
    if not sep or not where or not name:
        raise AuditError(f"--arch {spec!r}: expected 'package.module:Class', 'path/to/file.py:Class' or 'torchvision:NAME'")
    if where == "torchvision":
        builders = torchvision_builders()
        if name not in builders:
            raise AuditError(f"--arch {spec!r}: torchvision has no model builder {name!r} "
                             f"(torchvision.models.list_models() lists {len(builders)}, e.g. resnet18, vgg16)")
        return Arch(spec, builders[name], "torchvision")
    module = _import_file(Path(where), spec) if where.endswith(".py") else _import_module(where, spec)
    obj: Any = module
    for part in name.split("."):
        if not hasattr(obj, part):
            raise AuditError(f"--arch {spec!r}: {where} has no attribute {name!r}")
        obj = getattr(obj, part)
    if inspect.isclass(obj) and issubclass(obj, nn.Module):
        return Arch(spec, obj, "module")
    if callable(obj) and any(obj is b for b in torchvision_builders().values()):
        return Arch(spec, obj, "torchvision")
    what = f"class {obj.__name__}" if inspect.isclass(obj) else f"{type(obj).__name__} {getattr(obj, '__name__', name)!r}"
    raise AuditError(f"--arch {spec!r} names a {what}, which is neither a torch.nn.Module subclass nor a torchvision "
                     "model builder: the audit calls nothing else (README, 'Bring your own model')")


def parse_kwargs(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditError(f"--arch-kwargs: not valid JSON ({exc})") from None
    if not isinstance(kwargs, dict):
        raise AuditError(f"--arch-kwargs: expected a JSON object of keyword arguments, got {type(kwargs).__name__}")
    return kwargs


def check_kwargs(arch: Arch, kwargs: dict[str, Any]) -> None:
    """Refuse keyword arguments the builder does not take, and weights arguments (never downloaded)."""
    fn = arch.builder.__init__ if inspect.isclass(arch.builder) else arch.builder
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return
    params = dict(sig.parameters)
    if inspect.isclass(arch.builder):
        params.pop(next(iter(params), ""), None)  # self
    if arch.kind == "torchvision":
        bad = sorted(k for k in kwargs if k in ("weights", "weights_backbone", "progress"))
        if bad:
            raise AuditError(f"--arch-kwargs {bad}: torchvision builders run with weights=None here (nothing is "
                             "downloaded); your weights come from --model")
        ret = sig.return_annotation
        if inspect.isclass(ret) and issubclass(ret, nn.Module):  # the builder passes **kwargs on to its class
            inner = dict(inspect.signature(ret.__init__).parameters)
            inner.pop("self", None)
            params = {**{k: v for k, v in params.items() if v.kind != inspect.Parameter.VAR_KEYWORD}, **inner}
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    known = [k for k, p in params.items() if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]
    unknown = sorted(set(kwargs) - set(known))
    if unknown:
        raise AuditError(f"--arch-kwargs: {arch.spec} takes no argument {unknown[0]!r} (it takes {known})")
