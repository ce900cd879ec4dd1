"""Data-parallel training under ``torchrun``: the process context, gradient all-reduce, and the
two agreements every rank must share (weights, and when to stop).

Every rank samples the same subnets (they are a function of the iteration) and trains on its own
shard of each batch; the gradients are averaged in one flat all-reduce, so each optimizer step
leaves bit-identical weights on every rank. :func:`check_replicas` verifies that at each
checkpoint instead of trusting it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ofa_edge.errors import UserError


@dataclass(frozen=True)
class DistContext:
    """This process's rank, the number of processes, and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        """Whether this process writes files and shows progress (rank 0)."""
        return self.rank == 0


def launched_world() -> tuple[int, int]:
    """(rank, world size) of this process as ``torchrun`` launched it; (0, 1) when run alone."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def dist_context(device: str) -> DistContext:
    """Single process, or one process of a ``torchrun`` job (``WORLD_SIZE`` > 1): NCCL on CUDA,
    gloo on the CPU."""
    _, world = launched_world()
    if world == 1:
        return DistContext(0, 1, torch.device(device))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device.startswith("cuda") and local >= torch.cuda.device_count():
        raise UserError(
            f"torchrun started process {local} on this machine, which has {torch.cuda.device_count()} GPU(s): "
            f"start one process per GPU (--nproc-per-node {torch.cuda.device_count()})."
        )
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    rank = dist.get_rank()
    if device.startswith("cuda"):
        torch.cuda.set_device(local)
        return DistContext(rank, world, torch.device("cuda", local))
    return DistContext(rank, world, torch.device(device))


def all_gather(t: torch.Tensor) -> torch.Tensor:
    """Every rank's ``t`` (same shape on all), flattened and concatenated in rank order."""
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, t.contiguous())
    return torch.cat([p.reshape(-1) for p in parts])


def allreduce_grads(net: nn.Module, world: int) -> None:
    """Average gradients over processes in one flat buffer (same subnets on every rank)."""
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


def check_replicas(net: nn.Module) -> None:
    """Raise if any rank's parameters differ from rank 0's (one all-gather of per-tensor checksums).

    Replicas that drift apart would train on, each checkpoint holding only rank 0's view; a
    float64 sum and sum of squares per tensor sees a one-ulp change in any weight."""
    names, params = zip(*net.named_parameters(), strict=True)
    sums = torch.stack([torch.stack([p.detach().double().sum(), p.detach().double().square().sum()]) for p in params])
    gathered = all_gather(sums).view(dist.get_world_size(), *sums.shape)
    differ = (gathered != gathered[0]).any(dim=2)  # (rank, tensor)
    if differ.any():
        ranks = differ.any(dim=1).nonzero().flatten().tolist()
        tensors = [names[i] for i in differ.any(dim=0).nonzero().flatten().tolist()]
        raise RuntimeError(
            f"data-parallel replicas diverged: rank(s) {ranks} hold other weights than rank 0 in {len(tensors)} "
            f"tensor(s) ({', '.join(tensors[:3])}{', ...' if len(tensors) > 3 else ''}); the checkpoint was not written"
        )


def any_rank(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` holds on any rank (the same answer on every rank)."""
    t = torch.tensor([int(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def rank0_decides(flag: bool, device: torch.device) -> bool:
    """Rank 0's ``flag`` on every rank (a decision taken from rank 0's clock, for example)."""
    t = torch.tensor([int(flag)], device=device)
    dist.broadcast(t, 0)
    return bool(t.item())
