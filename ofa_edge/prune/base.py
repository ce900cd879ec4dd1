"""What HSPG and HESSO share: SGD with momentum over all parameters, whose step on the
grouped variables is then post-processed group by group."""

from __future__ import annotations

import torch

from ofa_edge.prune.zig import ZIGPartition
from ofa_edge.units import check_range


class GroupSparseOptimizer(torch.optim.Optimizer):
    """Momentum SGD over every parameter of ``part.model``; subclasses shape the groups."""

    def __init__(self, part: ZIGPartition, lr: float, momentum: float, weight_decay: float) -> None:
        check_range("lr", lr, gt=0)
        check_range("momentum", momentum, ge=0, lt=1)
        check_range("weight_decay", weight_decay, ge=0)
        super().__init__(list(part.params.values()), {"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        self.part = part
        self.names = {id(p): n for n, p in part.params.items()}
        self.num_steps = 0

    @property
    def lr(self) -> float:
        return self.param_groups[0]["lr"]

    @torch.no_grad()
    def directions(self) -> dict[str, torch.Tensor]:
        """The descent direction of every parameter (gradient + weight decay, with momentum);
        zeros where a parameter got no gradient."""
        out: dict[str, torch.Tensor] = {}
        for group in self.param_groups:
            mom, wd = group["momentum"], group["weight_decay"]
            for p in group["params"]:
                d = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
                if wd:
                    d.add_(p, alpha=wd)
                if mom:
                    buf = self.state[p].get("momentum_buffer")
                    buf = d if buf is None else buf.mul_(mom).add_(d)
                    self.state[p]["momentum_buffer"] = buf
                    d = buf.clone()
                out[self.names[id(p)]] = d
        return out

    @torch.no_grad()
    def descend(self, directions: dict[str, torch.Tensor]) -> None:
        """``x <- x - lr * d`` for every parameter."""
        for name, p in self.part.params.items():
            p.add_(directions[name], alpha=-self.lr)

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Tensors beyond momentum buffers needed to resume (step count, group status)."""
        return {"num_steps": torch.tensor(self.num_steps)}

    def load_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        self.num_steps = int(state["num_steps"])
