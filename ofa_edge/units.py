"""Quantities with units on the command line: ``15ms``, ``900us``, ``0.015s``, ``300M``, ``5M``."""

from __future__ import annotations

import re

from ofa_edge.errors import UserError

_TIME = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3}
_COUNT = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}
_NUM = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def parse_latency_ms(text: str) -> float:
    """``'15ms'`` -> 15.0; ``'900us'`` -> 0.9; ``'0.015s'`` -> 15.0 (milliseconds)."""
    m = re.fullmatch(rf"\s*({_NUM})\s*(s|ms|us|µs)\s*", text)
    if not m:
        raise UserError(f"cannot read latency '{text}': give a number with a unit, e.g. 15ms, 900us or 0.015s.")
    value = float(m.group(1)) * _TIME[m.group(3)]
    if value <= 0:
        raise UserError(f"latency '{text}' must be positive.")
    return value


def parse_count(text: str, what: str = "count") -> float:
    """``'300M'`` -> 3e8; ``'5M'`` -> 5e6; ``'1.2G'`` -> 1.2e9; plain numbers pass through."""
    m = re.fullmatch(rf"\s*({_NUM})\s*([kKMGB]?)\s*", text)
    if not m:
        raise UserError(f"cannot read {what} '{text}': give a number with an optional k/M/G suffix, e.g. 300M.")
    value = float(m.group(1)) * _COUNT[m.group(3)]
    if value <= 0:
        raise UserError(f"{what} '{text}' must be positive.")
    return value
