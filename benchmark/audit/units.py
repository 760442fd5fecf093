"""Units of any network, named by module path as `named_modules()` gives them (`layer4`,
`features.29`, `encoder.layer.3.output`): read and zeroed through forward hooks, behind the
suite's unit protocol (`activations(x)`, `widths`, `forward(x, masks={layer: mask})`).

Default layers, found by tracing one forward pass:
  - CNNs and MLPs: every activation module (nn.ReLU, nn.ReLU6) that runs once per forward, and every
    block whose output is the last output of an activation module it runs more than once (a
    torchvision residual stage: resnet18 gives relu, layer1, layer2, layer3, layer4; VGG16 its 13
    conv ReLUs and 2 classifier ReLUs);
  - transformers: every layer of the model's stack of identical blocks (BERT: encoder.layer.0 ..
    encoder.layer.N-1, whose outputs are the hidden states).
A conv unit is a channel (dim 1, averaged over space by the probes); a transformer unit is a
hidden dimension (the last dim). Hook outputs that are tuples (Hugging Face layers) are read and
masked at their first element.
"""

from __future__ import annotations

import difflib
from typing import Any, Callable

import torch
from torch import nn

from benchmark.audit.arch import AuditError
from benchmark.models.hf_encoder import HfEncoder

ACTIVATIONS = (nn.ReLU, nn.ReLU6)
CHUNK = 256  # rows per forward pass when no gradient is needed: bounded memory on any data size


def _first(out: Any) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    return None


def trace_calls(model: nn.Module, run: Callable[[], Any]) -> list[tuple[str, torch.Tensor | None]]:
    """(module name, its output) for every module call of one forward pass, in call order."""
    calls: list[tuple[str, torch.Tensor | None]] = []
    handles = [m.register_forward_hook(lambda _m, _i, out, n=name: calls.append((n, _first(out))))
               for name, m in model.named_modules() if name]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    return calls


def default_cnn_layers(model: nn.Module, calls: list[tuple[str, torch.Tensor | None]]) -> list[str]:
    counts: dict[str, int] = {}
    for n, _ in calls:
        counts[n] = counts.get(n, 0) + 1
    acts = {n for n, m in model.named_modules() if isinstance(m, ACTIVATIONS)}

    def collect(module: nn.Module, prefix: str) -> list[str]:
        out = []
        for cname, child in module.named_children():
            full = prefix + cname
            if isinstance(child, ACTIVATIONS):
                if counts.get(full) == 1:
                    out.append(full)
                continue
            inner = [n for n in acts if n.startswith(full + ".") and n in counts]
            if not inner:
                continue
            reused = any(counts[n] > 1 for n in inner)
            if reused and counts.get(full) == 1:
                last_act = [o for n, o in calls if n in inner][-1]
                own = next(o for n, o in calls if n == full)
                if own is not None and own is last_act:
                    out.append(full)
                    continue
            out += collect(child, full + ".")
        return out

    return collect(model, "")


def default_stack_layers(model: nn.Module) -> list[str]:
    """The children of the largest nn.ModuleList of blocks of one class (a transformer's layers)."""
    best: list[str] = []
    for name, m in model.named_modules():
        if isinstance(m, nn.ModuleList) and len(m) and len({type(c) for c in m}) == 1 and len(m) > len(best):
            best = [f"{name}.{i}" if name else str(i) for i in range(len(m))]
    return best


def check_layers(model: nn.Module, layers: list[str], counts: dict[str, int] | None) -> None:
    modules = dict(model.named_modules())
    for n in layers:
        if n not in modules or not n:
            close = difflib.get_close_matches(n, [m for m in modules if m], n=5, cutoff=0.5)
            raise AuditError(f"--layers {n!r}: no module of that name in the network"
                             + (f"; close: {close}" if close else f"; it has e.g. {[m for m in modules if m][:8]}"))
        if counts is not None and counts.get(n, 0) != 1:
            raise AuditError(f"--layers {n!r}: the module runs {counts.get(n, 0)} times per forward pass; a unit layer "
                             "must run once (name the block that holds a reused module, e.g. layer1.0 not layer1.0.relu)")


class HookedUnits(nn.Module):
    """Any image or vector classifier, with its units at the outputs of named modules."""

    def __init__(self, model: nn.Module, layers: list[str] | None = None, sample: torch.Tensor | None = None):
        super().__init__()
        self.model = model
        calls = trace_calls(model, lambda: model(sample)) if sample is not None else None
        counts = None
        if calls is not None:
            counts = {}
            for n, _ in calls:
                counts[n] = counts.get(n, 0) + 1
        if layers:
            check_layers(model, layers, counts)
            self.layer_names = list(layers)
        else:
            self.layer_names = default_cnn_layers(model, calls) if calls is not None else \
                [n for n, m in model.named_modules() if isinstance(m, ACTIVATIONS)]
            if not self.layer_names:
                raise AuditError("the network has no activation module (nn.ReLU) that runs once per forward pass and no "
                                 "unit protocol: name the layers whose outputs are units with --layers "
                                 "(module paths as model.named_modules() gives them, e.g. --layers body.1,body.3)")
        modules = dict(model.named_modules())
        self._targets = [modules[n] for n in self.layer_names]
        self.widths: list[int] = []
        if sample is not None:
            self.widths = [a.shape[1] for a in self.activations(sample)]

    def _run(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None, capture: list | None):
        handles = []
        for i, mod in enumerate(self._targets):
            def hook(_m, _inp, out, i=i):
                t = _first(out)
                if t is None:
                    raise AuditError(f"--layers {self.layer_names[i]!r}: its output is a {type(out).__name__}, not a tensor")
                if masks is not None and i in masks:
                    t = t * masks[i].to(t.dtype).reshape((1, -1) + (1,) * (t.dim() - 2))
                    out = t if isinstance(out, torch.Tensor) else (t, *out[1:])
                if capture is not None:
                    capture.append(t)
                return out
            handles.append(mod.register_forward_hook(hook))
        try:
            return self.model(x)
        finally:
            for h in handles:
                h.remove()

    def forward(self, x: torch.Tensor, masks: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        if torch.is_grad_enabled() or len(x) <= CHUNK:
            return self._run(x, masks, None)
        return torch.cat([self._run(c, masks, None) for c in x.split(CHUNK)])

    def _acts(self, x: torch.Tensor) -> list[torch.Tensor]:
        acts: list[torch.Tensor] = []
        self._run(x, None, acts)
        if len(acts) != len(self.layer_names):
            raise AuditError(f"the unit layers fired {len(acts)} times for {len(self.layer_names)} layers "
                             f"({self.layer_names}): name modules that run once with --layers")
        return acts

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        if torch.is_grad_enabled() or len(x) <= CHUNK:
            return self._acts(x)
        parts = [self._acts(c) for c in x.split(CHUNK)]
        return [torch.cat(p) for p in zip(*parts)]


class HookedEncoder(HfEncoder):
    """A Hugging Face encoder with the guan2019 probe's interface (`embed(ids)`, `features(x,
    mask)`), its features read at named modules (default: every layer of its stack). Inputs are
    integer token ids (the embedding lookup), or embeddings through `inputs_embeds`; never cast."""

    def __init__(self, model, tokenizer, layers: list[str] | None = None):
        super().__init__(model, tokenizer)
        if layers:
            check_layers(model, layers, None)
            self.layer_names = list(layers)
        else:
            self.layer_names = default_stack_layers(model)
            if not self.layer_names:
                raise AuditError("the Hugging Face model has no stack of layers (nn.ModuleList) to read: name the modules "
                                 "whose outputs are units with --layers (e.g. --layers encoder.layer.3.output)")
        modules = dict(model.named_modules())
        self._targets = [modules[n] for n in self.layer_names]

    def features(self, x: torch.Tensor, mask: torch.Tensor) -> list[torch.Tensor]:
        acts: list[torch.Tensor] = []
        handles = [m.register_forward_hook(lambda _m, _i, out: acts.append(_first(out))) for m in self._targets]
        try:
            self.model(inputs_embeds=x, attention_mask=mask.long())
        finally:
            for h in handles:
                h.remove()
        if len(acts) != len(self.layer_names) or any(a is None or a.dim() != 3 for a in acts):
            raise AuditError(f"--layers {self.layer_names}: each must run once per forward pass and give a "
                             "(batch, tokens, hidden) tensor")
        return acts

    def has_head(self) -> bool:
        return hasattr(self.model, "classifier") or hasattr(self.model, "score")

    @torch.no_grad()
    def predict(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.logits(ids, mask).argmax(-1)
