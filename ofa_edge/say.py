"""The one look of a note and a warning on a console: the command line's and a library run's (training) alike."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console

Log = Callable[[str], None]  # where a library run's notes (or warnings) go: the CLI's note/warn, or a caller's own


def say_note(console: Console, text: str) -> None:
    """An informational line: ``• text``, the bullet dimmed."""
    console.print(f"[dim]•[/dim] {text}")


def say_warning(console: Console, text: str) -> None:
    """A warning line: ``warning: text``, the label in yellow."""
    console.print(f"[yellow]warning:[/yellow] {text}")
