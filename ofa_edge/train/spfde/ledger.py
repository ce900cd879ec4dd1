"""Training FLOPs spent and saved by the SpFDE levers, per subnet pass.

Accounting (SpFDE's, which follows MEST and RigL): a layer's backward (input and weight
gradients) costs twice its forward, so 3x its forward in all. As in the trainer's ledger
(and OFA, DεpS), one MAC counts as one FLOP.
Sparsity scales a masked layer's forward and backward by the density of the slice the
subnet uses. A frozen unit still runs forward but has no backward at all. Per layer:

    spent  = F*d + (0 if frozen else 2*F*d)
    saved_sparsity = 3*F*(1-d)            saved_freezing = 2*F*d (frozen layers)

so ``dense = spent + saved_sparsity + saved_freezing`` holds exactly. Sieving is counted per
epoch by :func:`~ofa_edge.train.spfde.sieving.sieving_saved_flops`. The gradient-based grow
step needs one dense gradient per mask update; that is one step in hundreds and is not
subtracted (MEST's random growth needs none).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace, head_layer_macs, stem_layer_macs
from ofa_edge.train.spfde.sparsity import SparseMasks

FLOPS_PER_MAC = 1


@dataclass
class SavedFlops:
    """Running totals for the cost ledger (FLOPs)."""

    spent: float = 0.0
    sparsity: float = 0.0
    freezing: float = 0.0
    sieving: float = 0.0

    def add(self, other: SavedFlops) -> None:
        self.spent += other.spent
        self.sparsity += other.sparsity
        self.freezing += other.freezing
        self.sieving += other.sieving


@dataclass
class SpfdeCost:
    """Per-pass FLOPs of a subnet under the current masks and frozen prefix."""

    space: SearchSpace
    num_classes: int
    masks: SparseMasks | None = None
    _density: dict = field(default_factory=dict, repr=False)

    def masks_changed(self) -> None:
        """Call after every mask update (densities of slices are cached)."""
        self._density.clear()

    def _d(self, name: str, rows: int | None, cols: int) -> float:
        if self.masks is None or name not in self.masks.masks:
            return 1.0
        key = (name, rows, cols)
        if key not in self._density:
            m = self.masks.masks[name]
            self._density[key] = float(m[:rows, :cols].float().mean())
        return self._density[key]

    def _units(self, cfg: SubnetConfig) -> list[tuple[int, float, float]]:
        """(unit index, dense forward MACs, sparse forward MACs) of every unit the subnet runs."""
        sp, r = self.space, cfg.resolution
        c0 = sp.stem_width
        stem = stem_layer_macs(r, c0, sp.stem_stride)
        units = [
            (0, sum(stem.values()), stem["conv"] + stem["dw"] + stem["proj"] * self._d("stem.proj.weight", None, c0))
        ]
        for b in cfg.active_blocks():
            s = sp.block_shape(r, b, cfg.kernel[b], cfg.expand[b])
            pre = f"blocks.{b}."
            mid, se = s.mid_ch, s.se_ch
            slices = {"expand": (mid, s.in_ch), "proj": (None, mid), "se.reduce": (se, mid), "se.expand": (mid, se)}
            layers = [
                (macs, self._d(f"{pre}{name}.weight", *slices[name]) if name in slices else 1.0)  # dw: dense
                for name, macs in s.layer_macs().items()
            ]
            units.append((b + 1, sum(m for m, _ in layers), sum(m * d for m, d in layers)))
        last_c, cf = sp.stages[-1].width, sp.final_expand_width
        head = head_layer_macs(sp.final_hw(r), last_c, cf, sp.last_width)
        classifier = sp.fixed_parts(r, self.num_classes)["classifier"][1]
        dense = sum(head.values()) + classifier
        sparse = (
            head["expand"] * self._d("head.expand.weight", None, last_c)
            + head["mix"] * self._d("head.mix.weight", None, cf)
            + classifier
        )
        units.append((NUM_BLOCKS + 1, dense, sparse))  # the head: never frozen
        return units

    def dense_forward_macs(self, cfg: SubnetConfig) -> float:
        """Dense forward MACs per image (equals :class:`~ofa_edge.space.cost.CostModel`)."""
        return sum(d for _, d, _ in self._units(cfg))

    def pass_flops(self, cfg: SubnetConfig, images: int, frozen: int = 0, backward: bool = True) -> SavedFlops:
        """FLOPs spent and saved by one forward (and backward) pass of ``cfg`` on ``images``."""
        out = SavedFlops()
        for unit, dense, sparse in self._units(cfg):
            bwd = backward and unit >= frozen
            out.spent += sparse * (3 if bwd else 1)
            out.sparsity += (dense - sparse) * (3 if backward else 1)
            out.freezing += 2 * sparse if backward and not bwd else 0.0
        scale = FLOPS_PER_MAC * images
        out.spent *= scale
        out.sparsity *= scale
        out.freezing *= scale
        return out
