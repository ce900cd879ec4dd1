"""CUDA graphs for the supernet's training step: one captured forward and backward per block variant.

At 32 px a supernet step is bound by kernel launches and Python, not by the GPU: an elastic
block dispatches about 35–40 operators forward and backward (convolutions, BN, SE, slicing,
gradient accumulation), each launched from Python. :class:`GraphedSupernet` captures, the
first time it meets each (module, active kernel and width, input layout), the module's
forward and its backward as two CUDA graphs, and afterwards replays them: two launches (and
two copies) where there were dozens. The backward graph also adds the parameter gradients
into their ``.grad`` tensors, so those tensors must keep their addresses:
:meth:`GraphedSupernet.zero_grad` zeroes them in place instead of freeing them, and
:meth:`GraphedSupernet.release_unused` sets ``grad`` to ``None`` for the parameters no
replayed graph touched, so the optimizer skips exactly the parameters eager training would skip.

A variant's graphs keep its activations in their own memory pool (one batch of the block's
intermediate tensors), so capturing every variant of a space costs memory proportional to the
batch size: about 17 MB per image for OFA's ImageNet layout at 32 px (4 GB at batch 256), but
0.5 GB per image for ``mbv3-w1.0-cifar``, whose stride-1 stages and three resolutions make
many large variants (estimates from the tensors each variant saves for its backward). Once a
capture as large as the largest so far would leave less than :data:`MIN_FREE` of the GPU's
memory free, variants not yet captured run eagerly instead (counted in
:meth:`GraphedSupernet.stats`).

The head (dropout draws random numbers) runs eagerly; so does everything in eval mode or
under ``torch.no_grad()``, and so does a module with frozen parameters (SpFDE's layer
freezing): it records no backward, so its graph would have little to save, and a graph
captured before the freeze would still write gradients for the frozen weights. The blocks
after a frozen prefix receive an input that needs no gradient, a variant of its own.
"""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from ofa_edge.supernet import Supernet

WARMUP = 3  # eager iterations before capture: cuDNN autotuning and lazy initialisation run outside the graph
MIN_FREE = 0.15  # share of the GPU's memory left free; below it, new variants run eagerly


@dataclass(frozen=True)
class _Graph:
    fwd: torch.cuda.CUDAGraph
    bwd: torch.cuda.CUDAGraph
    static_in: torch.Tensor
    static_out: torch.Tensor
    static_grad_out: torch.Tensor
    grad_in: torch.Tensor | None  # None where the module's input needs no gradient (the stem's images)
    used: frozenset[int]  # ids of the parameters whose gradient the backward graph accumulates


class _Replay(torch.autograd.Function):
    """Autograd node of one replayed module: input copied in, graph replayed, output aliased."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, anchor: torch.Tensor, graph: _Graph, used: set[int]) -> torch.Tensor:
        graph.static_in.copy_(x)
        graph.fwd.replay()
        ctx.graph, ctx.used = graph, used
        return graph.static_out.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad: torch.Tensor):
        graph: _Graph = ctx.graph
        graph.static_grad_out.copy_(grad)
        graph.bwd.replay()
        ctx.used.update(graph.used)
        grad_in = graph.grad_in.detach() if graph.grad_in is not None else None
        return grad_in, None, None, None


class GraphedSupernet:
    """Runs a CUDA :class:`Supernet`'s active subnet with its stem and blocks replayed from graphs."""

    def __init__(self, net: Supernet, warmup: int = WARMUP) -> None:
        device = next(net.parameters()).device
        if device.type != "cuda":
            raise ValueError(f"CUDA graphs need the supernet on a CUDA device, not {device}")
        self.net, self.warmup = net, warmup
        # One capture stream for every graph, and no graph freed before the others: PyTorch frees a
        # capture stream's cuBLAS workspaces when any of its graphs dies (pytorch/pytorch#193402).
        self._stream = torch.cuda.Stream(device)
        # Gives every replayed output a gradient path even where the module's input has none (the stem).
        self._anchor = torch.zeros((), device=device, requires_grad=True)
        self._graphs: dict[Hashable, _Graph] = {}
        self._grads: dict[nn.Parameter, torch.Tensor] = {}
        self._used: set[int] = set()
        self._eager: set[Hashable] = set()
        self._largest = 0  # bytes the largest capture so far reserved: the headroom the next one needs
        self.capture_seconds = 0.0

    def stats(self) -> dict[str, float]:
        """Variants captured, variants run eagerly for want of memory, seconds spent capturing."""
        return {
            "captured": len(self._graphs),
            "eager_variants": len(self._eager),
            "capture_seconds": round(self.capture_seconds, 3),
        }

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        if not (net.training and torch.is_grad_enabled()):
            return net(x)
        x = self._run(net.stem, ("stem",), x)
        for b in net.active_blocks:
            blk = net.blocks[b]
            x = self._run(blk, (b, blk.active_kernel, blk.active_mid), x)
        return net.head(x)

    # ----------------------------------------------------------- gradients
    def zero_grad(self) -> None:
        """Give every graphed parameter its persistent gradient buffer back, zeroed in place."""
        for p, buf in self._grads.items():
            p.grad = buf
        if self._grads:
            torch._foreach_zero_(list(self._grads.values()))
        self._used.clear()

    def release_unused(self) -> None:
        """``grad = None`` for graphed parameters no backward of this step touched (the optimizer skips them)."""
        for p in self._grads:
            if id(p) not in self._used:
                p.grad = None

    def _grad_buffer(self, p: nn.Parameter) -> torch.Tensor:
        buf = self._grads.get(p)
        if buf is None:
            buf = self._grads[p] = torch.zeros_like(p) if p.grad is None else p.grad
            p.grad = buf
        return buf

    # ------------------------------------------------------------- capture
    def _run(self, module: nn.Module, setting: tuple, x: torch.Tensor) -> torch.Tensor:
        if not all(p.requires_grad for p in module.parameters()):
            return module(x)  # frozen: no gradients to compute, none to mark used
        autocast = torch.get_autocast_dtype("cuda") if torch.is_autocast_enabled("cuda") else None
        key = (setting, tuple(x.shape), x.stride(), x.dtype, x.requires_grad, autocast)
        graph = self._graphs.get(key)
        if graph is None and (key in self._eager or not _memory_to_spare(x.device, self._largest)):
            self._eager.add(key)
            self._used.update(id(p) for p in module.parameters() if p.requires_grad)
            return module(x)
        if graph is None:
            t, reserved = time.perf_counter(), torch.cuda.memory_reserved(x.device)
            graph = self._graphs[key] = self._capture(module, x, autocast)
            self.capture_seconds += time.perf_counter() - t
            self._largest = max(self._largest, torch.cuda.memory_reserved(x.device) - reserved)
        return _Replay.apply(x, self._anchor, graph, self._used)

    def _capture(self, module: nn.Module, x: torch.Tensor, autocast: torch.dtype | None) -> _Graph:
        params = [p for p in module.parameters() if p.requires_grad]
        bufs = [self._grad_buffer(p) for p in params]
        static_in = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device=x.device)
        # A leaf: copied from x with grad recording on, it would hang on x's autograd graph through
        # a CopyBackwards node made on the caller's stream, and the backward capture would wait on it.
        static_in.copy_(x.detach()).requires_grad_(x.requires_grad)
        inputs = ([static_in] if x.requires_grad else []) + params
        saved = [b.clone() for b in module.buffers()]  # warm-up steps must not move BN running statistics
        torch.cuda.synchronize()
        with torch.cuda.stream(self._stream), _amp(autocast):
            for _ in range(self.warmup):
                out = module(static_in)
                torch.autograd.grad(out, inputs, torch.ones_like(out), allow_unused=True)
        torch.cuda.synchronize()
        with torch.no_grad():
            for b, s in zip(module.buffers(), saved):
                b.copy_(s)
        fwd, bwd = torch.cuda.CUDAGraph(), torch.cuda.CUDAGraph()
        with torch.cuda.graph(fwd, stream=self._stream), _amp(autocast):
            static_out = module(static_in)
        static_grad_out = torch.empty_like(static_out)
        used = []
        with torch.cuda.graph(bwd, pool=fwd.pool(), stream=self._stream):
            grads = torch.autograd.grad(static_out, inputs, static_grad_out, allow_unused=True)
            for p, buf, g in zip(params, bufs, grads[len(inputs) - len(params) :]):
                if g is not None:
                    buf.add_(g)
                    used.append(id(p))
        grad_in = grads[0] if x.requires_grad else None
        return _Graph(fwd, bwd, static_in, static_out, static_grad_out, grad_in, frozenset(used))


def _memory_to_spare(device: torch.device, need: int) -> bool:
    """After ``need`` more bytes, more than :data:`MIN_FREE` of the GPU's memory would still be free.

    The caching allocator's idle blocks count as free. ``need`` is the largest capture so far: one
    capture can take more than the margin (at batch 1024, 60 variants of ``mbv3-w1.0-cifar`` filled
    an 80 GB H100 past a 15 % margin and the next capture ran out of memory).
    """
    free, total = torch.cuda.mem_get_info(device)
    idle = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    return free + idle - need > MIN_FREE * total


def _amp(dtype: torch.dtype | None) -> torch.autocast:
    """The autocast a capture runs under: the caller's dtype without its weight-cast cache (graph-unsafe)."""
    if dtype is None:
        return torch.autocast("cuda", enabled=False)
    return torch.autocast("cuda", dtype=dtype, cache_enabled=False)
