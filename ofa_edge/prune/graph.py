"""Channel-flow analysis of a CNN's module graph (torch.fx).

Every tensor in a CNN carries a channel axis (dim 1). Some ops create a new channel space
(a conv or linear layer's outputs); others keep their input's space (batch norm,
activations, pooling, depthwise convs); element-wise additions and products force their
operands into one space (residual stages, squeeze-excite gating). The analysis below walks
the traced graph once, unions spaces with a union-find, and records which axis of which
parameter indexes each space. Pruning one channel of a space removes those slices together.

Ops the analysis does not know are refused with the op named: a silently wrong partition
would produce a slim network that computes something else.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ofa_edge.errors import UserError


@dataclass(frozen=True)
class AxisSlice:
    """Axis ``dim`` of parameter or buffer ``name`` indexes a channel space.

    ``repeat`` entries per channel (a linear layer after ``flatten`` of an HxW map sees
    H*W columns per channel). ``primary`` slices form the group's variables (those an
    optimizer drives to zero); the others are removed along with the channel.
    """

    name: str
    dim: int
    repeat: int = 1
    primary: bool = True
    buffer: bool = False


@dataclass
class ChannelSpace:
    """A set of tensors sharing one channel axis, and the parameter slices indexed by it."""

    size: int
    slices: list[AxisSlice] = field(default_factory=list)
    fixed: str | None = None  # why it cannot be pruned (network input / output)
    tensors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Info:
    """What the analysis knows of one tensor: its space, entries per channel, and whether
    the channel is exactly zero once its group's primary slices are zero."""

    space: int
    repeat: int
    zero_when_pruned: bool


# Element-wise ops that keep the channel space; value: f(0) == 0 (zero stays zero).
_UNARY_MODULES: dict[type, bool] = {
    nn.ReLU: True,
    nn.ReLU6: True,
    nn.Hardswish: True,
    nn.SiLU: True,
    nn.GELU: True,
    nn.Tanh: True,
    nn.LeakyReLU: True,
    nn.Dropout: True,
    nn.Identity: True,
    nn.MaxPool2d: True,
    nn.AvgPool2d: True,
    nn.AdaptiveAvgPool2d: True,
    nn.AdaptiveMaxPool2d: True,
    nn.Sigmoid: False,
    nn.Hardsigmoid: False,
}
_UNARY_FUNCTIONS: dict[object, bool] = {
    F.relu: True,
    torch.relu: True,
    F.relu6: True,
    F.hardswish: True,
    F.silu: True,
    F.gelu: True,
    torch.tanh: True,
    F.leaky_relu: True,
    F.dropout: True,
    F.max_pool2d: True,
    F.avg_pool2d: True,
    F.adaptive_avg_pool2d: True,
    F.adaptive_max_pool2d: True,
    torch.sigmoid: False,
    F.hardsigmoid: False,
}
_UNARY_METHODS: dict[str, bool] = {"relu": True, "sigmoid": False, "tanh": True, "contiguous": True}
_ADD = {operator.add, operator.iadd, torch.add, "add", "add_"}
_MUL = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
_DIV = {operator.truediv, torch.div, "div"}


class _UnionFind:
    def __init__(self) -> None:
        self.parent: list[int] = []
        self.spaces: list[ChannelSpace] = []

    def new(self, size: int, tensor: str, fixed: str | None = None) -> int:
        self.parent.append(len(self.parent))
        self.spaces.append(ChannelSpace(size, fixed=fixed, tensors=[tensor]))
        return len(self.parent) - 1

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int, where: str) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        sa, sb = self.spaces[ra], self.spaces[rb]
        if sa.size != sb.size:
            raise UserError(f"{where}: operands have {sa.size} and {sb.size} channels; cannot tie them.")
        self.parent[rb] = ra
        sa.slices += sb.slices
        sa.tensors += sb.tensors
        sa.fixed = sa.fixed or sb.fixed
        return ra

    def space(self, i: int) -> ChannelSpace:
        return self.spaces[self.find(i)]


def _op_name(node: fx.Node, modules: dict[str, nn.Module]) -> str:
    if node.op == "call_module":
        return f"{type(modules[node.target]).__name__} (module '{node.target}')"
    if node.op == "call_function":
        return f"{getattr(node.target, '__name__', str(node.target))} (function, node '{node.name}')"
    return f"{node.target} ({node.op}, node '{node.name}')"


def _unknown(node: fx.Node, modules: dict[str, nn.Module], why: str = "") -> UserError:
    reason = f": {why}" if why else ""
    return UserError(
        f"the ZIG partitioner does not know the op {_op_name(node, modules)}{reason}. "
        "It refuses to guess how channels flow through it; prune a network built from Conv2d, "
        "BatchNorm, Linear, element-wise activations, pooling, flatten, add and multiply."
    )


def _check_example(example: object) -> None:
    """A :class:`UserError` unless ``example`` is a 4-D float image batch, before torch.fx meets it."""
    fix = ""
    if not isinstance(example, torch.Tensor):
        problem = f"is a {type(example).__name__}, not a torch.Tensor"
    elif example.dim() != 4:
        problem = f"has shape {tuple(example.shape)}"
        fix = "; add the batch dimension with example[None]" if example.dim() == 3 else ""
    elif not example.is_floating_point():
        problem = f"is {example.dtype}"
    else:
        return
    raise UserError(
        f"the example {problem}; the ZIG partitioner traces the network on a 4-D float image batch "
        f"(N, C, H, W), e.g. torch.randn(1, 3, 224, 224){fix}."
    )


def trace_channel_spaces(model: nn.Module, example: torch.Tensor) -> list[ChannelSpace]:
    """Trace ``model`` on ``example`` (a 4-D float image batch) and return its channel spaces with their slices."""
    _check_example(example)
    try:
        gm = fx.symbolic_trace(model)
    except Exception as e:  # noqa: BLE001 - fx raises many types for untraceable control flow
        raise UserError(f"cannot trace the network with torch.fx ({type(e).__name__}: {e}).") from None
    was_training = model.training
    gm.eval()
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example)
    except RuntimeError as e:  # ShapeProp's, naming the node, raised from the network's own error
        raise UserError(
            f"the network does not run on the example of shape {tuple(example.shape)} ({e.__cause__ or e}); "
            "pass an example of the input it takes."
        ) from None
    finally:
        gm.train(was_training)
    return _Analysis(gm).run()


class _Analysis:
    def __init__(self, gm: fx.GraphModule) -> None:
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.uf = _UnionFind()
        self.info: dict[fx.Node, _Info] = {}

    def run(self) -> list[ChannelSpace]:
        for node in self.gm.graph.nodes:
            if node.op == "output":
                for n in _flatten_nodes(node.args):
                    if n in self.info:
                        self.uf.space(self.info[n].space).fixed = "network output"
                continue
            self.info[node] = self._visit(node)
        roots = sorted({self.uf.find(i) for i in range(len(self.uf.parent))})
        return [self.uf.spaces[r] for r in roots]

    # ------------------------------------------------------------- helpers
    def _shape(self, node: fx.Node) -> torch.Size:
        meta = node.meta.get("tensor_meta")
        if meta is None or not hasattr(meta, "shape"):
            raise _unknown(node, self.modules, "it does not produce a single tensor")
        return meta.shape

    def _arg(self, node: fx.Node, i: int = 0) -> _Info:
        a = node.args[i] if i < len(node.args) else None
        if not isinstance(a, fx.Node) or a not in self.info:
            raise _unknown(node, self.modules, f"argument {i} is not a tracked tensor")
        return self.info[a]

    def _slice(
        self, space: int, name: str, dim: int, repeat: int = 1, primary: bool = True, buffer: bool = False
    ) -> None:
        self.uf.space(space).slices.append(AxisSlice(name, dim, repeat, primary, buffer))

    def _same(self, node: fx.Node, src: _Info, zero: bool) -> _Info:
        self.uf.space(src.space).tensors.append(node.name)
        return _Info(src.space, src.repeat, zero)

    # --------------------------------------------------------------- visit
    def _visit(self, node: fx.Node) -> _Info:
        if node.op == "placeholder":
            shape = self._shape(node)
            return _Info(self.uf.new(shape[1], node.name, fixed="network input"), 1, False)
        if node.op == "call_module":
            return self._module(node, self.modules[node.target])
        if node.op == "call_function":
            return self._function(node, node.target)
        if node.op == "call_method":
            return self._function(node, node.target)
        raise _unknown(node, self.modules)

    def _module(self, node: fx.Node, mod: nn.Module) -> _Info:
        name = node.target
        if isinstance(mod, nn.Conv2d):
            return self._conv(node, mod, name)
        if isinstance(mod, nn.Linear):
            return self._linear(node, mod, name)
        if isinstance(mod, nn.BatchNorm2d | nn.BatchNorm1d):
            src = self._arg(node)
            if src.repeat != 1:
                raise _unknown(node, self.modules, "batch norm over a flattened map")
            if mod.affine:
                self._slice(src.space, f"{name}.weight", 0)
                self._slice(src.space, f"{name}.bias", 0)
            if mod.running_mean is not None:
                self._slice(src.space, f"{name}.running_mean", 0, buffer=True)
                self._slice(src.space, f"{name}.running_var", 0, buffer=True)
            return self._same(node, src, mod.affine)
        if isinstance(mod, nn.Flatten):
            return self._flatten(node, mod.start_dim, mod.end_dim)
        for cls, keeps_zero in _UNARY_MODULES.items():
            if type(mod) is cls:
                src = self._arg(node)
                return self._same(node, src, src.zero_when_pruned and keeps_zero)
        raise _unknown(node, self.modules)

    def _conv(self, node: fx.Node, conv: nn.Conv2d, name: str) -> _Info:
        src = self._arg(node)
        depthwise = conv.groups == conv.in_channels == conv.out_channels and conv.groups > 1
        if conv.groups != 1 and not depthwise:
            raise _unknown(node, self.modules, f"grouped convolution with groups={conv.groups}")
        if depthwise:  # each filter belongs to the channel it reads and writes
            self._slice(src.space, f"{name}.weight", 0)
            if conv.bias is not None:
                self._slice(src.space, f"{name}.bias", 0)
            return self._same(node, src, True)
        out = self.uf.new(conv.out_channels, node.name)
        self._slice(out, f"{name}.weight", 0)
        if conv.bias is not None:
            self._slice(out, f"{name}.bias", 0)
        # An input channel that is not exactly zero once pruned must have its reading
        # column zeroed too, or removing it would change the output.
        self._slice(src.space, f"{name}.weight", 1, primary=not src.zero_when_pruned)
        return _Info(out, 1, True)

    def _linear(self, node: fx.Node, lin: nn.Linear, name: str) -> _Info:
        src = self._arg(node)
        if len(self._shape(node.args[0])) != 2:
            raise _unknown(node, self.modules, "linear layer on a tensor that is not (batch, features)")
        out = self.uf.new(lin.out_features, node.name)
        self._slice(out, f"{name}.weight", 0)
        if lin.bias is not None:
            self._slice(out, f"{name}.bias", 0)
        self._slice(src.space, f"{name}.weight", 1, src.repeat, primary=not src.zero_when_pruned)
        return _Info(out, 1, True)

    def _flatten(self, node: fx.Node, start: int, end: int) -> _Info:
        src = self._arg(node)
        shape = self._shape(node.args[0])
        if start != 1 or end not in (-1, len(shape) - 1):
            raise _unknown(node, self.modules, f"flatten(start_dim={start}, end_dim={end}) would mix channels")
        per_channel = 1
        for s in shape[2:]:
            per_channel *= s
        self.uf.space(src.space).tensors.append(node.name)
        return _Info(src.space, src.repeat * per_channel, src.zero_when_pruned)

    def _function(self, node: fx.Node, fn: object) -> _Info:
        keeps_zero = _UNARY_METHODS.get(fn) if isinstance(fn, str) else _UNARY_FUNCTIONS.get(fn)
        if keeps_zero is not None:
            src = self._arg(node)
            return self._same(node, src, src.zero_when_pruned and keeps_zero)
        if fn in (torch.flatten, "flatten"):
            start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
            end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
            return self._flatten(node, start, end)
        if fn in (torch.mean, "mean"):
            return self._mean(node)
        if fn in _ADD or fn in _MUL or fn in _DIV:
            return self._binary(node, fn)
        raise _unknown(node, self.modules)

    def _mean(self, node: fx.Node) -> _Info:
        src = self._arg(node)
        ndim = len(self._shape(node.args[0]))
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        dims = (dims,) if isinstance(dims, int) else dims
        if dims is None or src.repeat != 1 or {d % ndim for d in dims} & {0, 1}:
            raise _unknown(node, self.modules, f"mean over dims {dims} reduces the channel axis")
        return self._same(node, src, src.zero_when_pruned)

    def _binary(self, node: fx.Node, fn: object) -> _Info:
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else node.kwargs.get("other")
        tensors = [x for x in (a, b) if isinstance(x, fx.Node)]
        if len(tensors) == 1:  # tensor with a python scalar
            src = self.info.get(tensors[0])
            if src is None:
                raise _unknown(node, self.modules, "argument is not a tracked tensor")
            if fn in _DIV and tensors[0] is not a:
                raise _unknown(node, self.modules, "a scalar divided by a tensor")
            scalar = b if tensors[0] is a else a
            keeps_zero = src.zero_when_pruned and (fn not in _ADD or scalar == 0)
            return self._same(node, src, keeps_zero)
        if fn in _DIV:
            raise _unknown(node, self.modules, "division of two tensors")
        ia, ib = self._arg(node, 0), self._arg(node, 1)
        sa, sb = self._shape(a), self._shape(b)
        if len(sa) != len(sb) or sa[1] != sb[1] or ia.repeat != ib.repeat:
            raise _unknown(
                node, self.modules, f"operands of shapes {tuple(sa)} and {tuple(sb)} broadcast over channels"
            )
        space = self.uf.union(ia.space, ib.space, f"node '{node.name}'")
        self.uf.space(space).tensors.append(node.name)
        zero = ia.zero_when_pruned and ib.zero_when_pruned if fn in _ADD else ia.zero_when_pruned or ib.zero_when_pruned
        return _Info(space, ia.repeat, zero)


def _flatten_nodes(arg: object) -> list[fx.Node]:
    if isinstance(arg, fx.Node):
        return [arg]
    if isinstance(arg, list | tuple):
        return [n for a in arg for n in _flatten_nodes(a)]
    if isinstance(arg, dict):
        return [n for a in arg.values() for n in _flatten_nodes(a)]
    return []
