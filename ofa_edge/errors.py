"""Error types shared by the library and the CLI.

A :class:`UserError` is a mistake the user can fix (bad input, missing file, absent
runtime). The CLI turns it into exit code 2 and a one-paragraph message; anything else
is an internal error (exit 1).
"""

from __future__ import annotations

import difflib
import os
import re
import sys
import warnings
from collections.abc import Iterable, Sequence


class UserError(ValueError):
    """Bad input or environment: the message says what was wrong and what to do."""


class ConfigError(UserError):
    """A subnet configuration is invalid; ``field`` names the offending field, ``source`` (if any) what it was read
    from, ahead of the rest: ``subnet file 'a.json': resolution: 30 is not in space …``."""

    def __init__(self, field: str, message: str, source: str = "") -> None:
        self.field = field
        self.detail = message
        super().__init__(f"{source}: {field}: {message}" if source else f"{field}: {message}")


def option_name(field: str, flag: str | None = None) -> str:
    """An option as messages name it for a Python caller and the command line alike: the field (or parameter) the
    caller passes and the flag the command takes, ``max_batch (--max-batch)``; ``flag`` defaults to the field in
    kebab case. :func:`for_cli` shortens it to the flag."""
    return f"{field} ({flag or '--' + field.replace('_', '-')})"


_FIELD_AND_FLAG = re.compile(r"\b([a-z][a-z0-9_]*) \((--[a-z0-9-]+)\)")


def for_cli(message: object) -> str:
    """What the command line prints for ``message`` (an error, a note): an option a message names for a Python
    caller by its field and flag (:func:`option_name`) is named by its flag alone, as every command says it.

    A pair is a field and its flag when the flag ends with the field (``calib_images (--int8-calib-images)``), the
    field is the flag's plural or the flag with a suffix (``devices (--device)``, ``time_limit_s (--time-limit)``),
    or the field is a snake_case name (``calib_images (--bn-images)``); prose before a flag (``the pruned network
    (--slim)``) is left alone."""

    def flag_only(m: re.Match[str]) -> str:
        field, flag = m[1], m[2]
        kebab, name = field.replace("_", "-"), flag[2:]
        named = "_" in field or flag.endswith("-" + kebab) or kebab == name + "s" or kebab.startswith(name + "-")
        return flag if named else m[0]

    return _FIELD_AND_FLAG.sub(flag_only, str(message))


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C whose message says what the interrupted work kept, for a job that does not resume (the CLI
    prints it instead of its line on resuming long jobs)."""


def did_you_mean(word: str, known: Iterable[str], cutoff: float = 0.6) -> str:
    """``" Did you mean 'x'?"`` for the known word closest to ``word`` (case ignored), or ``""`` when none is close."""
    names = {k.lower(): k for k in known}
    close = difflib.get_close_matches(word.lower(), list(names), n=1, cutoff=cutoff)
    return f" Did you mean '{names[close[0]]}'?" if close else ""


def require_instance(value: object, kind: type, what: str, fix: str) -> None:
    """A :class:`UserError` ``"{what}: expected a {kind}, got {type}; {fix}."`` unless ``value`` is a ``kind``: a
    Python caller's dict or string where an object is taken gets that, not an AttributeError from deep inside."""
    if not isinstance(value, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise UserError(f"{what}: expected {article} {kind.__name__}, got {type(value).__name__}; {fix}.")


def refuse_options(given: Sequence[str], message: str) -> None:
    """Raise a :class:`UserError` when any option is in ``given`` (those a mode would ignore).

    ``message`` is a template: ``{given}`` becomes the options ("--a", "--a and --b", "--a, --b and --c"),
    ``{s}`` an "s" for one option only (a verb's third person: "{given} set{s}"), ``{is}`` "is" or "are",
    and ``{them}`` "it" or "them".
    """
    if not given:
        return
    one = len(given) == 1
    names = given[0] if one else f"{', '.join(given[:-1])} and {given[-1]}"
    raise UserError(
        message.format(
            given=names, s="s" if one else "", them="it" if one else "them", **{"is": "is" if one else "are"}
        )
    )


def warn_caller(message: str) -> None:
    """:func:`warnings.warn` a :class:`UserWarning` attributed to the first frame outside ofa-edge: the caller's
    own line, however deep inside the package the warning arises (a fixed ``stacklevel`` fits one depth only)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, UserWarning, stacklevel=level)
