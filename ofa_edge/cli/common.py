"""Shared CLI pieces: consoles, option aliases and the one way to emit a result."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ofa_edge.errors import UserError, for_cli
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


def data_help(use: str, shipped_sample: bool = False) -> str:
    """``--data``'s help, worded alike by every command: the layouts read, what the command reads them for
    (``use``), and the default (with, where :func:`data_arg` falls back to it, the sample shipped with the embedded
    supernet). The folder itself is said when a command picks it: a path in the help's narrow column is cut."""
    fallback = ", else the CIFAR-10 sample shipped with the embedded supernet" if shipped_sample else ""
    return f"Dataset folder (packed JPEG, CIFAR or ImageFolder tree) {use} (default: CIFAR-10 at $OFA_EDGE_DATA{fallback})."


def data_arg(data: Path | None, classes: list[str] | None, needs: dict[str, int]) -> Path:
    """``--data``, refused before any work unless it is a folder; else CIFAR-10 at its default folder
    (``$OFA_EDGE_DATA``) when it is there or the model is not a CIFAR-10 one (its ``classes``), which then names
    what is missing; else the sample shipped with the embedded supernet (:func:`_shipped_sample`). The default
    picked is said."""
    from ofa_edge.data.formats import require_folder

    if data is not None:
        require_folder(data)
        return data
    from ofa_edge.data import DEFAULT_ROOT
    from ofa_edge.data.sample import sample_classes

    if DEFAULT_ROOT.is_dir() or classes != sample_classes():
        note(f"data: {DEFAULT_ROOT} (default CIFAR-10; $OFA_EDGE_DATA sets it)")
        return DEFAULT_ROOT
    return _shipped_sample(DEFAULT_ROOT, needs)


def _shipped_sample(default: Path, needs: dict[str, int]) -> Path:
    """The CIFAR-10 sample shipped with the embedded supernet, in place of CIFAR-10 missing at ``default``, noted;
    ``needs`` maps each option that takes images from the data to its count: more than the sample holds is refused
    (a :class:`UserError`)."""
    from ofa_edge.data.sample import SAMPLE_IMAGES, SAMPLE_ROOT

    over = [f"{flag} {n}" for flag, n in needs.items() if n > SAMPLE_IMAGES]
    if over:
        raise UserError(
            f"no --data, and no CIFAR-10 at {default}: the sample shipped with the embedded supernet holds "
            f"{SAMPLE_IMAGES} training and {SAMPLE_IMAGES} test images, fewer than {', '.join(over)}. Pass --data "
            "PATH to CIFAR-10 (packed JPEG, or torchvision's cifar-10-batches-py), or ask for fewer images."
        )
    note(
        f"no --data, and no CIFAR-10 at {default} ($OFA_EDGE_DATA): using the CIFAR-10 sample shipped with "
        f"the embedded supernet ({SAMPLE_IMAGES} training + {SAMPLE_IMAGES} test images, the ones export draws "
        "from the full set by default)"
    )
    return SAMPLE_ROOT


def subnet_arg(path: Path) -> Path:
    """``--subnet`` as a file: a search output folder gives its subnet.json (noted); a folder
    without one is a :class:`~ofa_edge.errors.UserError`."""
    from ofa_edge.space.config import subnet_file

    file = subnet_file(path)
    if file != path:
        note(f"--subnet {path} is a folder: using the subnet.json in it")
    return file
