"""The paper scale's adapter: Places365 VGG16s dissected on Broden (bau2017/bau2020 B1-B3, B7, O3),
measured by the family's probes (benchmark.families.classifier_dissection.probes) on the shared
dissection loop (benchmark.probes.dissection).

What this scale supplies instead of the embedded one's, each forced by VGG16 or by Broden:
- Concepts are Broden's labels of the chosen categories (object, part, material, color); a pixel
  carries several at once (an object, its part, its material), so IoU is counted against one-hot
  masks (N, K, H, W), not a label map. Maps are upsampled to Broden's segmentation size.
- Unit importance by ablation (VGG16 has no linear read-out after average pooling: its conv5_3 is
  max-pooled and read by three fully connected layers): importance of unit u to class c = the fall
  in c's one-vs-rest balanced accuracy over the importance images when u's channel of the last
  dissected layer is zeroed, ties broken by the fall in c's logit on c's images. Class removal (B1)
  zeroes channels of that layer the same way and re-runs the rest of the network.
- The detector criterion's null (masks permuted across images, probes.with_null) is not run at this
  scale (Broden's masks are multi-label, and with_null permutes label maps): the cut-off is
  iou_cutoff alone; silent units are left out as on the embedded scale, and O3 rotates the active ones.
- O3: no counter-rotation can undo a rotation of channels before max pooling, so the accuracy
  check measures the best available undoing (rotate back after the pooling), and the claims say
  the paper scale cannot decide them (scales.paper.undecidable).
"""

from __future__ import annotations

import numpy as np
import torch

from benchmark.data import broden
from benchmark.experiments.scene_classifier_paper import load_batch, to_input
from benchmark.families.classifier_dissection import probes
from benchmark.probes import dissection

VGG_LAYERS = ("conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1", "conv3_2", "conv3_3",
              "conv4_1", "conv4_2", "conv4_3", "conv5_1", "conv5_2", "conv5_3")
CONTROL_PROBE_SHIFT = 100_000


# ------------------------------------------------------------------------------ Broden concepts
class BrodenSet:
    """Broden images (resized to the classifiers' input) and per-pixel multi-label concept masks."""

    def __init__(self, root, categories, n: int, image_size: int):
        self.root, self.categories, self.image_size = root, tuple(categories), image_size
        self.rows = broden.index(root)[:n]
        if not self.rows:
            raise ValueError(f"{root}: index.csv lists no images")
        cats = broden.label_categories(root)
        numbers = sorted(k for k, c in cats.items() if k > 0 and c & set(self.categories))
        self.names = [broden.labels(root)[k] for k in numbers]
        self.kinds = [cats[k] for k in numbers]
        self.lut = np.full(max(cats) + 1, -1, np.int64)
        self.lut[numbers] = np.arange(len(numbers))
        self.seg = self.rows[0]["sh"]
        if any(r["sh"] != self.seg or r["sw"] != self.seg for r in self.rows):
            raise ValueError(f"{root}: segmentations of different sizes; the probe needs one square size")

    def __len__(self) -> int:
        return len(self.rows)

    def images(self, s: slice) -> torch.Tensor:
        from PIL import Image

        out = []
        for row in self.rows[s]:
            arr = broden.image(self.root, row)
            if arr.shape[1:] != (self.image_size, self.image_size):
                im = Image.fromarray(arr.transpose(1, 2, 0)).resize((self.image_size, self.image_size), Image.BILINEAR)
                arr = np.asarray(im).transpose(2, 0, 1)
            out.append(torch.from_numpy(np.ascontiguousarray(arr)))
        return to_input(torch.stack(out))

    def onehot(self, s: slice) -> np.ndarray:
        """(N, K, seg, seg) bool: concept k present at the pixel in any layer of the chosen categories."""
        rows = self.rows[s]
        out = np.zeros((len(rows), len(self.names), self.seg * self.seg), bool)
        for i, row in enumerate(rows):
            for layer in broden.masks(self.root, row, self.categories):
                flat = layer.ravel()
                idx = np.where(flat < len(self.lut), self.lut[np.minimum(flat, len(self.lut) - 1)], -1)
                ok = idx >= 0
                out[i, idx[ok], np.flatnonzero(ok)] = True
        return out.reshape(len(rows), len(self.names), self.seg, self.seg)

    def in_category(self, cat: str) -> tuple[int, ...]:
        return tuple(j for j, k in enumerate(self.kinds) if cat in k)


# ------------------------------------------------------------------------------ dissection
def layer_index(name: str) -> int:
    return VGG_LAYERS.index(name)


@torch.no_grad()
def conv_maps(model, x: torch.Tensor, idx: list[int]) -> list[torch.Tensor]:
    """Post-ReLU maps of the unit blocks `idx`, before any max pooling that ends the block (the
    paper's conv5_3 is 14x14 at 224 px; the block's output is pooled to 7x7), on the CPU."""
    out: dict[int, torch.Tensor] = {}
    hooks = [model.blocks[i][1].register_forward_hook(lambda m, a, o, i=i: out.__setitem__(i, o.float().cpu()))
             for i in idx]
    try:
        model.activations(x)
    finally:
        for h in hooks:
            h.remove()
    return [out[i] for i in idx]


def dissect_layers(model, bro: BrodenSet, layers, levels, rng, device, batch: int, extra=None) -> list[dict]:
    """The named layers of `model` (or `extra(maps)`: derived maps) against Broden's masks."""
    idx = [layer_index(n) for n in layers]

    def feats(s):
        maps = conv_maps(model, bro.images(s).to(device), idx)
        return extra(maps) if extra else maps

    return dissection.dissect(feats, lambda s, hs: bro.onehot(s), len(bro), len(bro.names), bro.seg, levels, rng,
                              batch=batch, per_batch=5000)


# ------------------------------------------------------------------------------ ablation
@torch.no_grad()
def last_maps(model, images, n: int, layer: int, device, batch: int = 50) -> torch.Tensor:
    """Output of block `layer` for the first n images of an ImageList (CPU, float32)."""
    return torch.cat([model.activations(load_batch(images, range(s, min(n, s + batch))).to(device))[layer].float().cpu()
                      for s in range(0, n, batch)])


@torch.no_grad()
def logits_with(model, h: torch.Tensor, layer: int, keep: np.ndarray, device, batch: int = 50) -> np.ndarray:
    """Logits from the maps h of block `layer` with channels multiplied by `keep` (0: removed)."""
    k = torch.from_numpy(keep.astype(np.float32))[None, :, None, None]
    return torch.cat([model.forward_from(layer, (h[s:s + batch] * k).to(device)).float().cpu()
                      for s in range(0, len(h), batch)]).double().numpy()


@torch.no_grad()
def single_ablations(model, h: torch.Tensor, layer: int, device, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, C) unedited, logits (U, N, C) with unit u zeroed), for the last conv block of a
    VGG16 (head: average pool to 7x7, flatten, fc6, ReLU, dropout, fc7, ...). fc6 is linear in the
    pooled map, so zeroing u subtracts u's 49 columns of fc6 from fc6's input product: the same
    logits as re-running the head on the edited map (up to float rounding), ~7x fewer operations."""
    if layer != len(model.blocks) - 1:
        raise ValueError("single_ablations edits the last conv block (the head follows it)")
    pool, _, cls = model.head
    fc6, rest = cls[0], cls[1:]
    base, abl = [], []
    for s in range(0, len(h), 50):
        pooled = pool(h[s:s + 50].to(device))  # (n, U, 7, 7)
        n, width = pooled.shape[:2]
        z = fc6(pooled.flatten(1))  # (n, 4096)
        w = fc6.weight.view(fc6.out_features, width, -1)  # (4096, U, 49)
        base.append(rest(z.clone()).float().cpu())  # the ReLU after fc6 is in place
        per = []
        for u0 in range(0, width, chunk):
            u1 = min(width, u0 + chunk)
            delta = torch.einsum("oup,nup->uno", w[:, u0:u1], pooled[:, u0:u1].flatten(2))  # (u, n, 4096)
            per.append(rest((z[None] - delta).reshape(-1, z.shape[1])).float().cpu().reshape(u1 - u0, n, -1))
        abl.append(torch.cat(per))
    return torch.cat(base).double().numpy(), torch.cat(abl, dim=1).double().numpy()


def importance(model, h: torch.Tensor, y: np.ndarray, layer: int, n_classes: int, device) -> np.ndarray:
    """(U, C) rank score (larger = more important): fall in class c's balanced accuracy when unit u
    is zeroed, ties broken by the fall in c's mean logit on c's images."""
    width = h.shape[1]
    base, ablated = single_ablations(model, h, layer, device)
    pred0 = base.argmax(1)
    acc_fall, logit_fall = np.zeros((width, n_classes)), np.zeros((width, n_classes))
    own = np.arange(len(y)), y
    for u in range(width):
        lg = ablated[u]
        pred, drop = lg.argmax(1), base[own] - lg[own]
        for c in range(n_classes):
            pos = y == c
            if pos.any() and (~pos).any():
                acc_fall[u, c] = probes.balanced_accuracy(pred0, y, c) - probes.balanced_accuracy(pred, y, c)
            logit_fall[u, c] = drop[pos].mean() if pos.any() else 0.0
    score = np.zeros((width, n_classes))
    for c in range(n_classes):
        order = np.lexsort((np.arange(width), -logit_fall[:, c], -acc_fall[:, c]))  # last key sorts first
        score[order, c] = np.arange(width, 0, -1)
    return score


# ------------------------------------------------------------------------------ B7
def attack_rows(seed, model, images, n_val: int, y_val, score, layer, p, rng, classes, device) -> list[dict]:
    """B7 (probes.attack_rows) on the first p.attack_samples correctly classified validation images."""
    model = model.to(device)
    idx, s = [], 0
    with torch.no_grad():
        while len(idx) < p.attack_samples and s < n_val:
            b = range(s, min(n_val, s + 50))
            pred = model(load_batch(images, b).to(device)).argmax(1).cpu().numpy()
            idx += [i for i, pr in zip(b, pred) if pr == y_val[i]]
            s += 50
    idx = np.array(idx[: p.attack_samples], np.int64)
    if len(idx) == 0:
        return []
    peaks = lambda x: model.activations(x)[layer].amax(dim=(2, 3)).double().cpu().numpy()  # noqa: E731
    return probes.attack_rows(seed, model, load_batch(images, idx).to(device), idx, y_val[idx], score, peaks, p, rng, classes)


# ------------------------------------------------------------------------------ O3
@torch.no_grad()
def undone_rotation_logits(model, images, n: int, layer: int, rots: list[torch.Tensor], device, batch: int = 50):
    """(logits unedited, [logits with the block's pre-pool map rotated by R, max-pooled, and rotated
    back by R^T after the pooling] per R) on the first n images: the closest VGG16 has to undoing a
    rotation; exact only where max pooling commutes with R (R = I)."""
    block = model.blocks[layer]
    pool = block[2] if len(block) > 2 else (lambda t: t)
    base, out = [], [[] for _ in rots]
    for s in range(0, n, batch):
        (pre,) = conv_maps(model, load_batch(images, range(s, min(n, s + batch))).to(device), [layer])
        base.append(model.forward_from(layer, pool(pre).to(device)).double().cpu())
        for j, r in enumerate(rots):
            back = torch.einsum("ji,njhw->nihw", r, pool(torch.einsum("ij,njhw->nihw", r, pre)))
            out[j].append(model.forward_from(layer, back.to(device)).double().cpu())
    return torch.cat(base).numpy(), [torch.cat(o).numpy() for o in out]


def rotation_rows(seed, model, bro, last: str, active: np.ndarray, p, rng, device, batch, val=None, n_val: int = 0,
                  y_val=None) -> list[dict]:
    """O3 (probes.rotation_rows): the last layer's active units' pre-pool maps (`active`: top-q
    threshold above 0 in the layer's dissection) rotated among themselves and dissected. VGG16
    max-pools them next, so the rotation cannot be undone exactly: the accuracy columns measure the
    best available undoing (rotate back after the pooling) on the validation images, which is why
    O3 is not decidable at this scale (claim files)."""
    li = layer_index(last)
    levels = [1 - qq for qq in p.quantiles]

    def dissect_rotated(idx, rts):
        extra = lambda maps: [torch.einsum("ij,njhw->nihw", r, maps[0][:, idx]) for r in rts]  # noqa: E731
        return dissect_layers(model, bro, [last], levels, rng, device, batch, extra)

    def check(rots):
        rts = [torch.from_numpy(r.astype(np.float32)) for r in rots]
        if val is None or n_val <= 0:
            return float("nan"), [float("nan")] * len(rts), [float("nan")] * len(rts)
        base, rotated = undone_rotation_logits(model, val, n_val, li, rts, device)
        return (float((base.argmax(1) == y_val[:n_val]).mean()), [float((lg.argmax(1) == y_val[:n_val]).mean()) for lg in rotated],
                [float(np.abs(lg - base).max()) for lg in rotated])

    return probes.rotation_rows(seed, model.widths[li], active, dissect_rotated, check, p)


# ------------------------------------------------------------------------------ networks
def probe_network(seed, model, data: dict, cfg, probe_seed: int, device) -> dict:
    p, b = cfg.probe, cfg.broden
    rng = np.random.default_rng(probe_seed)
    model = model.to(device).eval()
    bro, levels, last = data["broden"], [1 - q for q in p.quantiles], b.layers[-1]
    layers = dict(zip(b.layers, dissect_layers(model, bro, b.layers, levels, rng, device, b.batch)))
    units = [r for name, d in layers.items() for r in probes.unit_rows(seed, "trained", name, d, p, bro.names)]
    li = layer_index(last)
    n_imp, n_val = data["n_importance"], data["n_val"]
    h_tr = last_maps(model, data["train"], n_imp, li, device)
    score = importance(model, h_tr, data["y_train"][:n_imp], li, len(data["classes"]), device)
    h_val = last_maps(model, data["val"], n_val, li, device)
    predict = lambda keep: logits_with(model, h_val, li, keep, device).argmax(1)  # noqa: E731
    removal = probes.removal_rows(seed, predict, data["y_val"][:n_val], score, p, rng, data["classes"])
    last_c = probes.criterion(layers[last], 1 - p.quantiles[0], p)
    unit_imp = probes.importance_rows(seed, score, last_c, p, bro.names)
    attacks = attack_rows(seed, model, data["val"], n_val, data["y_val"], score, li, p, rng, data["classes"], device)
    rot = rotation_rows(seed, model, bro, last, ~last_c["silent"], p, rng, device, b.batch, data["val"], n_val, data["y_val"])
    return {"units": units, "summary": probes.summary_rows(seed, "trained", layers, p, bro.in_category("object"),
                                                           bro.in_category("part")),
            "removal": removal, "importance": unit_imp, "attacks": attacks, "rotation": rot}


def probe_control(seed, model, data: dict, cfg, probe_seed: int, device) -> dict:
    p, b = cfg.probe, cfg.broden
    rng = np.random.default_rng(probe_seed)
    bro = data["broden"]
    layers = dict(zip(b.layers, dissect_layers(model.to(device).eval(), bro, b.layers, [1 - q for q in p.quantiles],
                                               rng, device, b.batch)))
    return {"units": [r for name, d in layers.items() for r in probes.unit_rows(seed, "random", name, d, p, bro.names)],
            "summary": probes.summary_rows(seed, "random", layers, p, bro.in_category("object"), bro.in_category("part"))}


def probe_networks(trained, random, data, cfg, probe_seed: int, device) -> dict:
    """Every network in this process, in seed order (on `device`; the per-network seeds make the
    tables independent of the order)."""
    return {"trained": {s: probe_network(s, m, data, cfg, probe_seed + s, device) for s, m in trained},
            "random": {s: probe_control(s, m, data, cfg, probe_seed + CONTROL_PROBE_SHIFT + s, device) for s, m in random}}


def tables(res: dict, cfg):
    return probes.tables(res, cfg.probe, cfg.broden.layers)
