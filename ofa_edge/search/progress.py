"""A rich progress bar on stderr for the long parts of a search (measuring, Optuna trials)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ofa_edge.say import say_note

WHOLE_RUN_S = 7 * 24 * 3600.0  # the rate behind the time left: averaged over the whole run, not the last 30 s


@contextmanager
def progress_bar(
    description: str, total: int, enabled: bool = True, note: str | None = None
) -> Iterator[Callable[[], None]]:
    """Yields ``advance()``; draws nothing when ``enabled`` is False. Cleared when done. The time left is
    estimated from the first step on (rich's default, the last 30 s, shows none when a step takes longer);
    ``note`` is printed above the bar."""
    cols = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    console = Console(stderr=True)
    if enabled and note:
        say_note(console, note)
    with Progress(
        *cols, console=console, disable=not enabled, transient=True, speed_estimate_period=WHOLE_RUN_S
    ) as bar:
        task = bar.add_task(description, total=total)
        bar.advance(task, 0)  # the start: the time left shows from the first step done
        yield lambda: bar.advance(task)
