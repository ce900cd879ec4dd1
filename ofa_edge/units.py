"""Quantities with units on the command line (``15ms``, ``300M``, ``90m``) and range checks of options."""

from __future__ import annotations

import math
import re
from numbers import Real

from ofa_edge.errors import UserError

_TIME = {"s": 1000.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3}
_COUNT = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9}
_DURATION = {"ms": 1e-3, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_NUM = r"(\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"


def parse_latency_ms(text: str) -> float:
    """``'15ms'`` -> 15.0; ``'900us'`` -> 0.9; ``'0.015s'`` -> 15.0 (milliseconds)."""
    if not isinstance(text, str):
        raise UserError(f"cannot read latency {text!r}: give it as text with a unit, e.g. '15ms', '900us' or '0.015s'.")
    m = re.fullmatch(rf"\s*([-+]?{_NUM})\s*(s|ms|us|µs)\s*", text)
    if not m:
        raise UserError(f"cannot read latency '{text}': give a number with a unit, e.g. 15ms, 900us or 0.015s.")
    value = float(m.group(1)) * _TIME[m.group(3)]
    if not 0 < value < math.inf:
        raise UserError(f"latency '{text}' must be a positive, finite time, e.g. 15ms.")
    return value


def parse_duration_s(text: str, option: str) -> float:
    """``'540s'``, ``'90m'``, ``'9min'``, ``'2h'``, ``'1h30m'`` -> seconds; a bare number is seconds."""
    unit = r"\s*(ms|sec|s|min|m|h)"
    examples = "540s, 90m or 2h (units ms, s, sec, m, min, h; a bare number is seconds)"
    if re.fullmatch(rf"\s*{_NUM}\s*", text):
        seconds = float(text)
    elif re.fullmatch(rf"(?:\s*{_NUM}{unit})+\s*", text):
        seconds = sum(float(m[1]) * _DURATION[m[3]] for m in re.finditer(rf"({_NUM}){unit}", text))
    else:
        raise UserError(f"{option} '{text}': not a duration; give one like {examples}.")
    if not 0 < seconds < math.inf:
        raise UserError(f"{option} '{text}': must be positive, e.g. {examples}.")
    return seconds


def parse_count(text: str, what: str = "count") -> float:
    """``'300M'`` -> 3e8; ``'5M'`` -> 5e6; ``'1.2G'`` -> 1.2e9; plain numbers pass through."""
    if not isinstance(text, str):
        raise UserError(f"cannot read {what} {text!r}: give it as text with an optional k/M/G suffix, e.g. '300M'.")
    m = re.fullmatch(rf"\s*([-+]?{_NUM})\s*([kKMGB]?)\s*", text)
    if not m:
        raise UserError(f"cannot read {what} '{text}': give a number with an optional k/M/G suffix, e.g. 300M.")
    value = float(m.group(1)) * _COUNT[m.group(3)]
    if not 0 < value < math.inf:
        raise UserError(f"{what} '{text}' must be a positive, finite number, e.g. 300M.")
    return value


_UNIT_WORDS = {*_TIME, *_DURATION, *(u for u in _COUNT if u)}


def spaced_value(args: list[str]) -> str | None:
    """The message for an option value split by the shell (``--latency 15 ms``, ``--latency 15ms, 4ms``),
    or None. Without it the second word reaches the parser as an unexplained extra argument."""
    for i in range(len(args) - 1):
        opt, value, rest = args[i], args[i + 1], args[i + 2 :]
        if not opt.startswith("--") or not rest or rest[0].startswith("-"):
            continue
        if re.fullmatch(_NUM, value) and rest[0] in _UNIT_WORDS:
            return f"{opt} '{value} {rest[0]}': write the value without a space ({opt} {value}{rest[0]}) or quote it."
        if value.endswith(",") and value[:-1]:
            words = [value]
            for word in rest:  # every item of the list: each word ending with a comma takes the next one
                if not words[-1].endswith(",") or word.startswith("-"):
                    break
                words.append(word)
            said, joined = " ".join(words), "".join(words)
            return f"{opt} '{said}': a list takes no spaces after its commas ({opt} {joined}) or quote it."
    return None


def check_range(
    option: str,
    value: float | None,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    hint: str = "",
) -> None:
    """Raise ``'OPTION VALUE: must be in [ge, lt)'`` (or ``>= ge``, ...) unless ``value`` is a finite number in
    the range; ``None`` (an option left unset) passes. NaN and infinities never pass. ``option`` is a flag, or a
    library field named with :func:`~ofa_edge.errors.option_name` (``lr (--lr)``)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Real):
        raise UserError(f"{option} {value!r}: must be a number, got {type(value).__name__}.")
    fits = math.isfinite(value)
    fits = fits and (ge is None or value >= ge) and (gt is None or value > gt)
    fits = fits and (le is None or value <= le) and (lt is None or value < lt)
    if fits:
        return
    show = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    low = f"[{show(ge)}" if ge is not None else f"({show(gt)}" if gt is not None else None
    high = f"{show(le)}]" if le is not None else f"{show(lt)})" if lt is not None else None
    if low and high:
        rule = f"in {low}, {high}"
    else:
        bounds = {">=": ge, ">": gt, "<=": le, "<": lt}
        rule = " and ".join(f"{op} {show(b)}" for op, b in bounds.items() if b is not None)
    words = ["" if math.isfinite(value) else "a finite number", rule, hint]
    raise UserError(f"{option} {show(value)}: must be {' '.join(w for w in words if w)}.")
