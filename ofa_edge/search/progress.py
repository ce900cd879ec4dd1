"""A rich progress bar on stderr for the long parts of a search (measuring, Optuna trials)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[Callable[[], None]]:
    """Yields ``advance()``; draws nothing when ``enabled`` is False. Cleared when done."""
    cols = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, console=Console(stderr=True), disable=not enabled, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda: bar.advance(task)
