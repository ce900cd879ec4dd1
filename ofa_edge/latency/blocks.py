"""Standalone modules for latency keys and whole subnets (random weights: timing only).

Every table key parses back into the module it names: an MBConv block, the stem (with
OFA's fixed first block), the head (final expand, pool, feature mix) or the classifier.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.genome import decode, sample
from ofa_edge.space.search_space import BlockShape, SearchSpace

if TYPE_CHECKING:
    from torch import nn

    from ofa_edge.supernet.layers import SubnetModel

_MB = re.compile(r"mb-i(\d+)x\1x(\d+)-o(\d+)-m(\d+)-k(\d+)-s(\d+)-se([01])-(relu|hswish)-id([01])")
_STEM = re.compile(r"stem-i(\d+)x\1x3-o(\d+)-s(\d+)")
_HEAD = re.compile(r"head-i(\d+)x\1x(\d+)-m(\d+)-o(\d+)")
_CLS = re.compile(r"classifier-i(\d+)-o(\d+)")


def parse_block_key(key: str) -> BlockShape:
    """``mb-...`` key -> the :class:`BlockShape` it was made from (inverse of ``BlockShape.key``)."""
    m = _MB.fullmatch(key)
    if not m:
        raise UserError(f"'{key}' is not an MBConv latency key")
    hw, cin, cout, mid, k, s, se, act, res = m.groups()
    return BlockShape(int(hw), int(cin), int(cout), int(mid), int(k), int(s), se == "1", act, res == "1")


def parse_fixed_key(key: str) -> tuple[str, tuple[int, ...]]:
    """Stem/head/classifier key -> ``("stem", (res, width, stride))``, ``("head", (hw, in, mid, out))``
    or ``("classifier", (in, classes))``."""
    for name, pattern in (("stem", _STEM), ("head", _HEAD), ("classifier", _CLS)):
        if m := pattern.fullmatch(key):
            return name, tuple(map(int, m.groups()))
    raise UserError(f"unknown latency key '{key}'")


def build_for_key(key: str) -> tuple[nn.Module, tuple[int, ...]]:
    """The module a key names, in eval mode, and its input shape without the batch dimension."""
    from torch import nn

    from ofa_edge.supernet.layers import Head, MBConv, Stem

    if key.startswith("mb-"):
        shape = parse_block_key(key)
        return MBConv(shape).eval(), (shape.in_ch, shape.in_hw, shape.in_hw)
    kind, v = parse_fixed_key(key)
    if kind == "stem":
        r, width, stride = v
        return Stem(width, stride).eval(), (3, r, r)
    if kind == "head":
        hw, cin, mid, cout = v
        head = Head(cin, mid, cout, num_classes=1, dropout=0.0)
        head.classifier = nn.Identity()  # timed separately under its own key
        return head.eval(), (cin, hw, hw)
    cin, n = v
    return nn.Linear(cin, n).eval(), (cin,)


def build_subnet(cfg: SubnetConfig, num_classes: int) -> SubnetModel:
    """A standalone network for ``cfg`` built from its shapes (no supernet needed), eval mode."""
    from ofa_edge.supernet.layers import Head, MBConv, Stem, SubnetModel

    space = SearchSpace.get(cfg.space)
    blocks = [MBConv(space.block_shape(cfg.resolution, b, cfg.kernel[b], cfg.expand[b])) for b in cfg.active_blocks()]
    stem = Stem(space.stem_width, space.stem_stride)
    head = Head(space.stages[-1].width, space.final_expand_width, space.last_width, num_classes, dropout=0.0)
    return SubnetModel(stem, blocks, head).eval()


def random_subnets(space: str, resolutions: list[int], n: int, seed: int) -> list[SubnetConfig]:
    """``n`` uniformly random subnets at the table's resolutions, deterministic in ``seed``."""
    sp = SearchSpace.get(space)
    rng = np.random.default_rng(seed)
    g = sample(sp, n, rng)
    allowed = np.array([sp.resolutions.index(r) for r in sorted(resolutions)], dtype=np.uint8)
    g[:, 0] = allowed[rng.integers(0, len(allowed), n)]
    return decode(sp, g)
