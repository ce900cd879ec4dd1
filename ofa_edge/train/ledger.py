"""The cost ledger of a run: device, wall seconds, images, training FLOPs.

Training FLOPs count 3 × forward MACs per image for every trained subnet (forward, and a
backward of about twice the forward), plus 1 × forward MACs for teacher forwards, with MACs
from the analytic :class:`~ofa_edge.space.CostModel`. (A MAC is counted as one FLOP here, as
OFA and DεpS count "FLOPs"; multiply by 2 for multiply-and-add operations.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from ofa_edge.space import CostModel, SubnetConfig


@dataclass
class Ledger:
    """A run's cost: device, wall seconds, images, subnet-images, training FLOPs, steps and the
    FLOPs the levers saved."""

    device: str
    wall_seconds: float = 0.0
    images: int = 0
    subnet_images: int = 0
    train_flops: float = 0.0
    teacher_flops: float = 0.0
    steps: int = 0
    saved_flops: dict[str, float] = field(default_factory=dict)

    def add_step(
        self, cost: CostModel, cfgs: Sequence[SubnetConfig], batch: int, teacher: SubnetConfig | None = None
    ) -> None:
        """Account one step over ``batch`` images (all processes together)."""
        macs = cost.macs(list(cfgs) + ([teacher] if teacher else []))
        n = len(cfgs)
        self.train_flops += 3.0 * float(macs[:n].sum()) * batch
        if teacher is not None:
            self.teacher_flops += float(macs[n]) * batch
        self.images += batch
        self.subnet_images += n * batch
        self.steps += 1

    @property
    def total_flops(self) -> float:
        """Training FLOPs of the trained subnets plus the teacher's forward passes."""
        return self.train_flops + self.teacher_flops

    @property
    def computed_flops(self) -> float:
        """FLOPs actually computed: ``total_flops`` counts every step dense; levers' savings inside
        those steps (all causes but ``sieving``, whose saving is examples never trained) come off."""
        return self.total_flops - sum(v for k, v in self.saved_flops.items() if k != "sieving")

    def to_dict(self) -> dict:
        """JSON form, with the derived totals."""
        return asdict(self) | {"total_flops": self.total_flops, "computed_flops": self.computed_flops}

    @classmethod
    def from_dict(cls, d: dict, device: str) -> Ledger:
        """Restore a saved ledger; the device string is the current one (a resumed run may move)."""
        keep = {
            k: d[k]
            for k in ("wall_seconds", "images", "subnet_images", "train_flops", "teacher_flops", "steps", "saved_flops")
        }
        devices = (
            d["device"] if d["device"] == device or device in d["device"].split(" + ") else f"{d['device']} + {device}"
        )
        return cls(device=devices, **keep)
