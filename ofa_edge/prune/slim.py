"""Slim network construction: remove zero groups and keep the function.

The slim network is the original module tree with narrower layers; its architecture is
described by the sizes of its layers (JSON), so it can be rebuilt from its base (an ofa-edge
subnet or a torchvision model) plus that description, then loaded from safetensors.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_bytes, atomic_write_json, read_consistent
from ofa_edge.prune.zig import ZIGPartition

FORMAT = "ofa-edge-slim/1"
# Channel counts of slim layers are kept at multiples of this: ONNX Runtime's CPU depthwise
# kernel ran ~7x slower on counts that are not multiples of 4 (benchmarks.md, issue 8).
CHANNEL_MULTIPLE = 4
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


def is_depthwise(conv: nn.Module) -> bool:
    """Whether ``conv`` is a depthwise convolution (one group per channel)."""
    return isinstance(conv, nn.Conv2d) and conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels


def layer_sizes(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Channel sizes of every Conv2d / Linear / BatchNorm layer: the slim architecture."""
    sizes: dict[str, dict[str, Any]] = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            sizes[name] = {"type": "Conv2d", "in": m.in_channels, "out": m.out_channels, "groups": m.groups}
        elif isinstance(m, nn.Linear):
            sizes[name] = {"type": "Linear", "in": m.in_features, "out": m.out_features}
        elif isinstance(m, _NORMS):
            sizes[name] = {"type": type(m).__name__, "features": m.num_features}
    return sizes


def _empty_like(t: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
    return None if t is None else torch.empty(shape, dtype=t.dtype, device=t.device)


def resize_(model: nn.Module, sizes: dict[str, dict[str, Any]]) -> None:
    """Give every layer listed in ``sizes`` those channel counts (uninitialised tensors)."""
    for name, s in sizes.items():
        try:
            m = model.get_submodule(name)
        except AttributeError:
            raise UserError(f"slim architecture names layer '{name}', which the base network lacks.") from None
        if type(m).__name__ != s["type"]:
            raise UserError(f"slim architecture: layer '{name}' is a {type(m).__name__}, not a {s['type']}.")
        if isinstance(m, nn.Conv2d):
            m.in_channels, m.out_channels, m.groups = s["in"], s["out"], s["groups"]
            m.weight = nn.Parameter(_empty_like(m.weight, (s["out"], s["in"] // s["groups"], *m.kernel_size)))
            if m.bias is not None:
                m.bias = nn.Parameter(_empty_like(m.bias, (s["out"],)))
        elif isinstance(m, nn.Linear):
            m.in_features, m.out_features = s["in"], s["out"]
            m.weight = nn.Parameter(_empty_like(m.weight, (s["out"], s["in"])))
            if m.bias is not None:
                m.bias = nn.Parameter(_empty_like(m.bias, (s["out"],)))
        elif isinstance(m, _NORMS):
            m.num_features = n = s["features"]
            for attr in ("weight", "bias"):
                if getattr(m, attr) is not None:
                    setattr(m, attr, nn.Parameter(_empty_like(getattr(m, attr), (n,))))
            for attr in ("running_mean", "running_var"):
                if getattr(m, attr) is not None:
                    setattr(m, attr, _empty_like(getattr(m, attr), (n,)))


def _sizes_from_state(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, dict[str, Any]]:
    sizes = layer_sizes(model)
    for name, s in sizes.items():
        prefix = f"{name}." if name else ""
        if s["type"] == "Conv2d":
            w = state[prefix + "weight"]
            dw = is_depthwise(model.get_submodule(name))
            s.update(out=w.shape[0], groups=w.shape[0] if dw else 1, **{"in": w.shape[0] if dw else w.shape[1]})
        elif s["type"] == "Linear":
            w = state[prefix + "weight"]
            s.update(out=w.shape[0], **{"in": w.shape[1]})
        else:
            key = next(prefix + k for k in ("weight", "running_mean") if prefix + k in state)
            s["features"] = state[key].shape[0]
    return sizes


def slim(
    model: nn.Module, part: ZIGPartition, zero: torch.Tensor | None = None, align: int = CHANNEL_MULTIPLE
) -> nn.Module:
    """A standalone copy of ``model`` without the zero groups (default: the groups that are
    exactly zero now), keeping a few zero channels back so each layer keeps a multiple of
    ``align`` channels. In eval mode it computes the group-sparse model's outputs."""
    zero = part.aligned(part.zero_mask() if zero is None else zero, align)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for name, axes in part.axis_indices(zero).items():
        t = state[name]
        for dim, index in axes.items():
            t = t.index_select(dim, index.to(t.device))
        state[name] = t.contiguous()
    new = copy.deepcopy(model)
    resize_(new, _sizes_from_state(new, state))
    new.load_state_dict(state)
    return new


def save_slim(model: nn.Module, out_dir: str | Path, base: dict[str, Any], extra: dict[str, Any] | None = None) -> Path:
    """Write ``slim.safetensors`` and ``slim.json`` (base + layer sizes) to ``out_dir``."""
    out_dir = Path(out_dir)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(out_dir / "slim.safetensors", save(tensors))
    doc = {
        "format": FORMAT,
        "base": base,
        "layers": layer_sizes(model),
        "params": sum(p.numel() for p in model.parameters()),
        "weights": "slim.safetensors",
        **(extra or {}),
    }
    atomic_write_json(out_dir / "slim.json", doc)
    return out_dir / "slim.json"


def build_base(base: dict[str, Any]) -> nn.Module:
    """The unpruned network a slim description starts from."""
    kind = base.get("kind")
    if kind == "ofa-subnet":
        from ofa_edge.space import SubnetConfig
        from ofa_edge.supernet import Supernet

        if "subnet" not in base or "num_classes" not in base:
            raise UserError("slim description's base lacks its subnet or num_classes; re-run ofa-edge prune.")
        cfg = SubnetConfig.from_dict(base["subnet"])
        net = Supernet(cfg.space, base["num_classes"], dropout=base.get("dropout", 0.1))
        return net.extract(cfg)
    if kind == "torchvision":
        import torchvision

        kwargs = base.get("kwargs", {})
        if "weights" in kwargs:  # loading a user file must not download and load a checkpoint
            raise UserError("slim description's base asks torchvision for weights; the slim file carries its own.")
        return torchvision.models.get_model(base["name"], **kwargs)
    raise UserError(f"slim description has base kind {kind!r}; expected 'ofa-subnet' or 'torchvision'.")


def load_slim(path: str | Path) -> nn.Module:
    """Rebuild a slim network from its ``slim.json`` and weights (no pickle involved), both of one write of their
    folder where a prune replaces it meanwhile (:func:`~ofa_edge.io.read_consistent`)."""
    path = Path(path)
    return read_consistent(path.parent, lambda: _read_slim(path))


def _read_slim(path: Path) -> nn.Module:
    """:func:`load_slim` from the files as they are now."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"cannot read slim description '{path}' ({e}).") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise UserError(f"'{path}' has format {found!r}; expected {FORMAT!r}.")
    missing = [k for k in ("base", "layers", "weights") if k not in doc]
    if missing or not isinstance(doc["base"], dict):
        raise UserError(
            f"slim description '{path}' lacks {', '.join(missing) or 'a base mapping'}; re-run ofa-edge prune."
        )
    model = build_base(doc["base"])
    try:
        resize_(model, doc["layers"])
    except (
        AttributeError,
        KeyError,
        TypeError,
        ValueError,
        ZeroDivisionError,
        RuntimeError,
    ) as e:  # not {name: {"type", counts}}
        raise UserError(
            f"slim description '{path}' has malformed layer sizes ({type(e).__name__}: {e}); re-run `ofa-edge prune`."
        ) from None
    weights = path.parent / doc["weights"]
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise UserError(
            f"cannot read the pruned network's weights '{weights}' named by '{path}' ({e}); `ofa-edge prune` writes "
            "both files together: keep them side by side, or re-run it."
        ) from None
    if (mismatch := _mismatch(model.state_dict(), state)) is not None:
        raise UserError(
            f"'{weights}' does not hold the network '{path}' describes ({mismatch}); they come from different "
            "prune runs: use the slim.json and slim.safetensors of one --out folder, or re-run `ofa-edge prune`."
        )
    model.load_state_dict(state)
    return model.eval()


def _mismatch(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> str | None:
    """How a weights file differs from the network's state dict, in one line (None: it fits): the counts of
    tensors of another shape, missing and unexpected, with the first of each named."""
    shapes = [k for k in expected if k in found and found[k].shape != expected[k].shape]
    missing, unexpected = [k for k in expected if k not in found], [k for k in found if k not in expected]
    parts = []
    if shapes:
        k = shapes[0]
        in_file, described = ("x".join(map(str, t.shape)) for t in (found[k], expected[k]))
        parts.append(f"{len(shapes)} tensors of another shape, e.g. {k}: {in_file} in the file, {described} described")
    parts += [
        f"{len(keys)} {what}, e.g. {keys[0]}"
        for keys, what in ((missing, "missing"), (unexpected, "unexpected"))
        if keys
    ]
    return "; ".join(parts) or None
