"""OFA MobileNetV3 search spaces: stage layout, block geometry and the named registry.

A space is data: a stem, a fixed first block, five elastic stages of up to four MBConv
blocks (OFA's widths, strides, activations and SE placement) and a head. Every block any
subnet can contain is described by a :class:`BlockShape`, whose canonical string is the
latency-table key, the log line and the CLI's display of that block.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.errors import UserError, did_you_mean, require_instance

if TYPE_CHECKING:
    from ofa_edge.space.config import SubnetConfig

KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
NUM_STAGES = 5
MAX_DEPTH = 4
NUM_BLOCKS = NUM_STAGES * MAX_DEPTH
SE_REDUCTION = 4
CHANNEL_DIVISOR = 8


def make_divisible(value: float, divisor: int = CHANNEL_DIVISOR) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` without losing more than 10%."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def se_channels(mid: int) -> int:
    """Width of a squeeze-excite's squeezed layer for a block of ``mid`` channels (OFA's rule)."""
    return make_divisible(mid // SE_REDUCTION)


def listed(values: Iterable[int]) -> str:
    """Values as a set, never as a range a reader would fill in: ``24, 28, 32``."""
    return ", ".join(map(str, values))


def value_set(values: Sequence[int]) -> str:
    """A space's choices, short: ``128-224 (step 16)`` for more than three evenly spaced values, else
    :func:`listed` (``24, 28, 32``: ``24-32`` would read as every size between)."""
    steps = {b - a for a, b in itertools.pairwise(values)}
    if len(values) > 3 and len(steps) == 1:
        return f"{values[0]}-{values[-1]} (step {steps.pop()})"
    return listed(values)


def stem_key(resolution: int, width: int, stride: int) -> str:
    """Latency key of the stem (3x3 conv and OFA's fixed first block) on ``resolution`` px RGB input."""
    return f"stem-i{resolution}x{resolution}x3-o{width}-s{stride}"


def head_key(hw: int, in_ch: int, mid: int, out: int) -> str:
    """Latency key of the head (1x1 expand on ``hw`` x ``hw``, pool, 1x1 mix) before the classifier."""
    return f"head-i{hw}x{hw}x{in_ch}-m{mid}-o{out}"


def classifier_key(in_features: int, classes: int) -> str:
    """Latency key of the classifier (one linear layer)."""
    return f"classifier-i{in_features}-o{classes}"


def conv_out(size: int, stride: int) -> int:
    """Spatial output size of a 'same'-padded conv with odd kernel."""
    return (size - 1) // stride + 1


def stem_layer_macs(resolution: int, width: int, stride: int) -> dict[str, int]:
    """MACs of the stem's layers on ``resolution`` px RGB, by module name: the 3x3 conv (3 -> ``width``,
    ``stride``), then OFA's fixed first block, depthwise 3x3 and pointwise ``width`` -> ``width``."""
    hw = conv_out(resolution, stride) ** 2
    return {"conv": hw * 3 * width * 9, "dw": hw * width * 9, "proj": hw * width * width}


def head_layer_macs(hw: int, in_ch: int, mid: int, out: int) -> dict[str, int]:
    """MACs of the head's layers by module name: 1x1 expand on ``hw`` x ``hw``, then (after the pool) 1x1 mix."""
    return {"expand": hw * hw * in_ch * mid, "mix": mid * out}


@dataclass(frozen=True)
class StageSpec:
    """One elastic stage: output width, stride of its first block, activation, SE."""

    width: int
    stride: int
    act: str  # "relu" | "hswish"
    se: bool


@dataclass(frozen=True)
class BlockShape:
    """The shape of one MBConv block as it runs: everything its latency depends on."""

    in_hw: int
    in_ch: int
    out_ch: int
    mid_ch: int
    kernel: int
    stride: int
    se: bool
    act: str
    residual: bool

    @property
    def out_hw(self) -> int:
        return conv_out(self.in_hw, self.stride)

    @property
    def se_ch(self) -> int:
        return se_channels(self.mid_ch)

    def key(self) -> str:
        """Canonical, round-trippable string (OFA's LUT keying, compacted)."""
        return (
            f"mb-i{self.in_hw}x{self.in_hw}x{self.in_ch}-o{self.out_ch}-m{self.mid_ch}"
            f"-k{self.kernel}-s{self.stride}-se{int(self.se)}-{self.act}-id{int(self.residual)}"
        )

    def layer_macs(self) -> dict[str, int]:
        """Multiply-accumulates of each convolution the block runs, by its name in the block:
        ``expand``, ``dw``, ``se.reduce``, ``se.expand``, ``proj`` (BN and activations excluded)."""
        hw_in, hw_out, mid = self.in_hw * self.in_hw, self.out_hw * self.out_hw, self.mid_ch
        layers = {"expand": hw_in * self.in_ch * mid, "dw": hw_out * mid * self.kernel**2}  # expand ratio is never 1
        if self.se:
            layers |= {"se.reduce": mid * self.se_ch, "se.expand": mid * self.se_ch}
        return layers | {"proj": hw_out * mid * self.out_ch}

    def macs(self) -> int:
        """Multiply-accumulates of the block's convolutions (BN and activations excluded)."""
        return sum(self.layer_macs().values())

    def params(self) -> int:
        """Learnable parameters (conv weights, BN affine, SE biases)."""
        p = self.in_ch * self.mid_ch + 2 * self.mid_ch
        p += self.mid_ch * self.kernel**2 + 2 * self.mid_ch + self.mid_ch * self.out_ch + 2 * self.out_ch
        if self.se:
            p += 2 * self.mid_ch * self.se_ch + self.se_ch + self.mid_ch
        return p


@dataclass(frozen=True)
class SearchSpace:
    """An OFA MobileNetV3 space. Use :meth:`get` for the named ones."""

    name: str
    width_mult: float
    resolutions: tuple[int, ...]
    stem_stride: int
    stages: tuple[StageSpec, ...]
    kernels: tuple[int, ...] = KERNELS
    expands: tuple[int, ...] = EXPANDS
    depths: tuple[int, ...] = DEPTHS
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    description: str = field(default="", compare=False)

    # ----------------------------------------------------------------- registry
    @staticmethod
    def names() -> list[str]:
        """The named spaces, sorted (what :meth:`get` takes)."""
        return sorted(_REGISTRY)

    @staticmethod
    def get(name: str | SearchSpace) -> SearchSpace:
        """Return the named space (a named space passes as it is); unknown names, and spaces built by hand
        (subnets and checkpoints name their space, so only named ones work), raise a :class:`UserError`."""
        if isinstance(name, SearchSpace):
            if _REGISTRY.get(name.name) != name:
                raise UserError(
                    f"search space '{name.name}' is not one of the named spaces, or differs from the one of that name; "
                    f"subnets and checkpoints name their space, so use SearchSpace.get(NAME) with one of: "
                    f"{', '.join(SearchSpace.names())}."
                )
            return name
        try:
            return _REGISTRY[name]
        except (KeyError, TypeError):  # TypeError: an unhashable name (a list, a dict)
            if not isinstance(name, str):
                raise UserError(
                    f"a search space name must be a string, got {type(name).__name__} {name!r}; "
                    f"known spaces: {', '.join(SearchSpace.names())}."
                ) from None
            hint = did_you_mean(name.strip().lower(), _REGISTRY)
            raise UserError(
                f"unknown search space '{name}'.{hint} Known spaces: {', '.join(SearchSpace.names())}."
            ) from None

    # ---------------------------------------------------------------- geometry
    @cached_property
    def stem_width(self) -> int:
        return make_divisible(16 * self.width_mult)

    @cached_property
    def final_expand_width(self) -> int:
        return make_divisible(960 * self.width_mult)

    @cached_property
    def last_width(self) -> int:
        return make_divisible(1280 * self.width_mult)

    def stage_of(self, block: int) -> int:
        """The stage (0..4) of elastic block ``block`` (0..19)."""
        return block // MAX_DEPTH

    def block_in_ch(self, block: int) -> int:
        """Input channels of elastic block ``block``."""
        stage, pos = divmod(block, MAX_DEPTH)
        if pos > 0:
            return self.stages[stage].width
        return self.stem_width if stage == 0 else self.stages[stage - 1].width

    def block_stride(self, block: int) -> int:
        """Stride of elastic block ``block``: its stage's for the stage's first block, else 1."""
        stage, pos = divmod(block, MAX_DEPTH)
        return self.stages[stage].stride if pos == 0 else 1

    def mid_channels(self, block: int, expand: int) -> int:
        """Expanded (depthwise) channels of block ``block`` at expand ratio ``expand``."""
        return make_divisible(round(self.block_in_ch(block) * expand))

    def stage_input_hw(self, resolution: int) -> list[int]:
        """Spatial size at the input of each stage (after stem and first block)."""
        hw = conv_out(resolution, self.stem_stride)
        sizes = []
        for st in self.stages:
            sizes.append(hw)
            hw = conv_out(hw, st.stride)
        return sizes

    def final_hw(self, resolution: int) -> int:
        """Spatial size of the last stage's output (the head's input) at ``resolution``."""
        return conv_out(self.stage_input_hw(resolution)[-1], self.stages[-1].stride)

    def block_shape(self, resolution: int, block: int, kernel: int, expand: int) -> BlockShape:
        """Shape of elastic block ``block`` (0..19) at a resolution, kernel and expand ratio."""
        stage, pos = divmod(block, MAX_DEPTH)
        spec = self.stages[stage]
        in_hw = self.stage_input_hw(resolution)[stage]
        if pos > 0:
            in_hw = conv_out(in_hw, spec.stride)
        in_ch = self.block_in_ch(block)
        stride = self.block_stride(block)
        return BlockShape(
            in_hw=in_hw,
            in_ch=in_ch,
            out_ch=spec.width,
            mid_ch=self.mid_channels(block, expand),
            kernel=kernel,
            stride=stride,
            se=spec.se,
            act=spec.act,
            residual=stride == 1 and in_ch == spec.width,
        )

    def fixed_parts(self, resolution: int, num_classes: int) -> dict[str, tuple[str, int, int]]:
        """The non-elastic layers at a resolution: name -> (latency key, MACs, params)."""
        c0, cf, cl = self.stem_width, self.final_expand_width, self.last_width
        last_c, fhw = self.stages[-1].width, self.final_hw(resolution)
        return {
            # stem conv 3x3 + BN + hswish, then OFA's first block (depthwise 3x3 + pointwise, identity skip)
            "stem": (
                stem_key(resolution, c0, self.stem_stride),
                sum(stem_layer_macs(resolution, c0, self.stem_stride).values()),
                3 * c0 * 9 + 2 * c0 + c0 * 9 + 2 * c0 + c0 * c0 + 2 * c0,
            ),
            "head": (
                head_key(fhw, last_c, cf, cl),
                sum(head_layer_macs(fhw, last_c, cf, cl).values()),
                last_c * cf + 2 * cf + cf * cl,
            ),
            "classifier": (classifier_key(cl, num_classes), cl * num_classes, cl * num_classes + num_classes),
        }

    # ------------------------------------------------------------ enumeration
    @cached_property
    def num_subnets(self) -> int:
        """Distinct networks (blocks beyond a stage's depth do not count)."""
        per_block = len(self.kernels) * len(self.expands)
        per_stage = sum(per_block**d for d in self.depths)
        return per_stage**NUM_STAGES * len(self.resolutions)

    def all_block_shapes(self) -> dict[int, list[BlockShape]]:
        """Every block shape any config can produce, per resolution."""
        out: dict[int, list[BlockShape]] = {}
        for r in self.resolutions:
            out[r] = [
                self.block_shape(r, b, k, e)
                for b, k, e in itertools.product(range(NUM_BLOCKS), self.kernels, self.expands)
            ]
        return out

    # ---------------------------------------------------------------- configs
    def sample(self, rng: np.random.Generator) -> SubnetConfig:
        """A uniformly random subnet: every gene (resolution, depths, kernels, expands) drawn from ``rng``."""
        from ofa_edge.space.config import SubnetConfig

        _require_rng(rng)
        return SubnetConfig(
            space=self.name,
            resolution=int(rng.choice(self.resolutions)),
            depth=tuple(int(d) for d in rng.choice(self.depths, NUM_STAGES)),
            kernel=tuple(int(k) for k in rng.choice(self.kernels, NUM_BLOCKS)),
            expand=tuple(int(e) for e in rng.choice(self.expands, NUM_BLOCKS)),
        )

    def max(self, resolution: int | None = None) -> SubnetConfig:
        """The largest subnet (deepest, widest, largest kernels) at ``resolution`` (default: the largest)."""
        from ofa_edge.space.config import SubnetConfig

        return SubnetConfig(
            self.name,
            max(self.resolutions) if resolution is None else resolution,
            (max(self.depths),) * NUM_STAGES,
            (max(self.kernels),) * NUM_BLOCKS,
            (max(self.expands),) * NUM_BLOCKS,
        )

    def min(self, resolution: int | None = None) -> SubnetConfig:
        """The smallest subnet (shallowest, narrowest, smallest kernels) at ``resolution`` (default: the smallest)."""
        from ofa_edge.space.config import SubnetConfig

        return SubnetConfig(
            self.name,
            min(self.resolutions) if resolution is None else resolution,
            (min(self.depths),) * NUM_STAGES,
            (min(self.kernels),) * NUM_BLOCKS,
            (min(self.expands),) * NUM_BLOCKS,
        )

    def mutate(self, cfg: SubnetConfig, rng: np.random.Generator, prob: float = 0.1) -> SubnetConfig:
        """Resample each gene with probability ``prob``."""
        from ofa_edge.space.genome import decode, encode, mutate

        self.require_config(cfg, "mutate")
        _require_rng(rng)
        if isinstance(prob, bool) or not isinstance(prob, Real) or not 0 <= prob <= 1:
            raise UserError(f"mutate: prob is the chance to resample each gene, a number in [0, 1]; got {prob!r}.")
        return decode(self, mutate(self, encode(self, [cfg]), rng, float(prob)))[0]

    def crossover(self, a: SubnetConfig, b: SubnetConfig, rng: np.random.Generator) -> SubnetConfig:
        """Uniform crossover: each gene from ``a`` or ``b`` with equal probability."""
        from ofa_edge.space.genome import crossover, decode, encode

        self.require_config(a, "crossover")
        self.require_config(b, "crossover")
        _require_rng(rng)
        return decode(self, crossover(encode(self, [a]), encode(self, [b]), rng))[0]

    def require_config(self, cfg: object, what: str, other_space: str = "") -> None:
        """A :class:`UserError` starting with ``what`` (the caller: ``"mutate"``, ``"table.predict: item 3"``)
        unless ``cfg`` is a :class:`SubnetConfig` of this space. ``other_space`` is the fix for a subnet of
        another space, ``{space}`` standing for its space (default: use that space or a subnet of this one)."""
        from ofa_edge.space.config import SubnetConfig

        require_instance(
            cfg, SubnetConfig, what, "build one with SubnetConfig.from_dict(...) or SubnetConfig.load(path)"
        )
        if cfg.space != self.name:
            fix = other_space or f"use SearchSpace.get('{{space}}') or a subnet of '{self.name}'"
            raise UserError(
                f"{what}: the subnet is of space '{cfg.space}', not '{self.name}'; {fix.format(space=cfg.space)}."
            )

    def choices(self, gene: str) -> tuple[int, ...]:
        """The values a subnet's ``gene`` (``resolution``, ``depth``, ``kernel``, ``expand``) may take here."""
        return getattr(self, f"{gene}s")

    def not_in_space(self, gene: str, values: Sequence[int]) -> str:
        """What errors say of ``values`` of ``gene`` that this space does not have, with those it has:
        ``30 is not in space mbv3-w1.0-cifar (24, 28, 32)``."""
        verb = "is" if len(values) == 1 else "are"
        return f"{listed(values)} {verb} not in space {self.name} ({listed(self.choices(gene))})"

    @property
    def default_num_classes(self) -> int:
        """The classes a network of this space has unless told: 10 for CIFAR spaces, 1000 for ImageNet ones."""
        return 10 if "cifar" in self.name else 1000

    def describe(self, num_classes: int | None = None) -> dict:
        """A JSON-ready summary: size, MACs/params range, min and max configs."""
        from ofa_edge.space.cost import CostModel

        cost = CostModel(self, num_classes=num_classes or self.default_num_classes)
        lo, hi = self.min(), self.max()
        return {
            "name": self.name,
            "description": self.description,
            "width_mult": self.width_mult,
            "resolutions": list(self.resolutions),
            "kernels": list(self.kernels),
            "expands": list(self.expands),
            "depths": list(self.depths),
            "num_subnets": self.num_subnets,
            "num_classes_assumed": cost.num_classes,
            "macs_range": [int(cost.macs([lo])[0]), int(cost.macs([hi])[0])],
            "params_range": [int(cost.params([lo])[0]), int(cost.params([hi])[0])],
            "min": lo.to_dict(),
            "max": hi.to_dict(),
        }


def _require_rng(rng: object) -> None:
    if not isinstance(rng, np.random.Generator):
        raise UserError(
            f"expected a numpy random Generator, got {type(rng).__name__}; pass np.random.default_rng(seed)."
        )


def _mbv3_stages(width_mult: float, strides: tuple[int, ...]) -> tuple[StageSpec, ...]:
    widths = (24, 40, 80, 112, 160)
    acts = ("relu", "relu", "hswish", "hswish", "hswish")
    ses = (False, True, False, True, True)
    return tuple(
        StageSpec(make_divisible(w * width_mult), s, a, se)
        for w, s, a, se in zip(widths, strides, acts, ses, strict=True)
    )


CIFAR_MEAN = (125.3 / 255, 122.9 / 255, 113.9 / 255)
CIFAR_STD = (62.5 / 255, 61.9 / 255, 66.5 / 255)


def _build_registry() -> dict[str, SearchSpace]:
    spaces = {}
    for w in (1.0, 1.2):
        spaces[f"mbv3-w{w}-imagenet"] = SearchSpace(
            name=f"mbv3-w{w}-imagenet",
            width_mult=w,
            resolutions=(128, 144, 160, 176, 192, 208, 224),
            stem_stride=2,
            stages=_mbv3_stages(w, (2, 2, 2, 1, 2)),
            description="OFA MobileNetV3 (ofa_mbv3_d234_e346_k357) for ImageNet-like data at 128-224 px (step 16)",
        )
        spaces[f"mbv3-w{w}-cifar"] = SearchSpace(
            name=f"mbv3-w{w}-cifar",
            width_mult=w,
            resolutions=(24, 28, 32),
            stem_stride=1,
            stages=_mbv3_stages(w, (1, 2, 2, 1, 2)),
            mean=CIFAR_MEAN,
            std=CIFAR_STD,
            description="OFA MobileNetV3 for 32 px CIFAR-like data: stem and first stage at stride 1 (4x4 final map)",
        )
    return spaces


_REGISTRY = _build_registry()
