"""Shared CLI pieces: consoles, option aliases and the one way to emit a result."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ofa_edge.errors import for_cli
from ofa_edge.say import say_note, say_warning

# Progress, logs and warnings go to stderr; results to stdout.
err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable JSON document on stdout.")]


def _seed(value: int) -> int:
    from ofa_edge.units import check_range

    check_range("--seed", value, ge=0)  # numpy's generators take no negative seed
    return value


def seed_option(draws: str) -> Any:
    """``--seed`` (>= 0) whose help says what it ``draws`` and what a run again repeats."""
    return Annotated[int, typer.Option("--seed", callback=_seed, help=f"{draws} (`ofa-edge docs reproducibility`).")]


SeedOpt = seed_option(
    "Random seed: the same seed, the same result, bit for bit but for timings, on one machine at one thread count"
)


def emit(result: dict[str, Any], as_json: bool, render: Callable[[], None] | None = None) -> None:
    """Print ``result`` as JSON (``--json``) or call ``render`` for the human view."""
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2, default=str) + "\n")
    elif render is not None:
        render()


def note(message: str) -> None:
    """An informational line on stderr (e.g. a default that was picked), in the command line's wording."""
    say_note(err, for_cli(message))


def warn(message: str) -> None:
    """A warning line on stderr, in the command line's wording."""
    say_warning(err, for_cli(message))


def data_arg(data: Path | None, classes: list[str] | None, needs: dict[str, int]) -> Path:
    """``--data``; else CIFAR-10 at its default folder (``$OFA_EDGE_DATA``), or for a CIFAR-10 model (its
    ``classes``) without it the sample shipped with the embedded supernet, which must hold what ``needs`` (each
    option taking images, with its count) asks; the default picked is said."""
    from ofa_edge.data.sample import data_or_sample

    picked, sample_note = data_or_sample(data, classes, needs)
    if data is None:
        note(sample_note or f"data: {picked} (default CIFAR-10; $OFA_EDGE_DATA sets it)")
    return picked


def subnet_arg(path: Path) -> Path:
    """``--subnet`` as a file: a search output folder gives its subnet.json (noted); a folder
    without one is a :class:`~ofa_edge.errors.UserError`."""
    from ofa_edge.space.config import subnet_file

    file = subnet_file(path)
    if file != path:
        note(f"--subnet {path} is a folder: using the subnet.json in it")
    return file
