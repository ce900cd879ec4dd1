"""What a training run shows: a rich progress bar on a terminal and one line per epoch everywhere."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from typing_extensions import Self

from ofa_edge.train.methods import Method, StepPlan

# What the loss shown sums, by the loss kinds of a step's subnets: only the full phases' is plain CE
LOSS_LABELS = {
    frozenset({"ce"}): "",
    frozenset({"ce", "inplace_kd"}): " (mean: max net CE, subnets KD)",
    frozenset({"teacher_kd"}): " (CE + teacher KD)",
}


def significant(value: float) -> str:
    """A rate or an amount with three significant digits below 100 (``0.437``, ``12.3``), whole above (``1,234``)."""
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


class TrainProgress:
    """The bar (live only where ``live``: a log, a pipe or a file, has the epoch lines) and the epoch lines.

    Use as a context manager around the training loop."""

    def __init__(self, console: Console, method: Method, name: str, start_it: int, live: bool) -> None:
        self.method, self.epochs = method, method.p.epochs
        self._progress = Progress(
            SpinnerColumn(), TextColumn(f"train {name}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(), console=console,
            disable=not live,
        )  # fmt: skip
        total = method.p.total_iters
        self._task = self._progress.add_task("train", total=total, completed=start_it, status="")
        head = min(start_it, total - 1)
        self.status(f"{self.head(method.plan(head), head)}  first step running")

    def __enter__(self) -> Self:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def status(self, text: str) -> None:
        """Show ``text`` after the bar now (at most once a step: on a GPU, every few steps)."""
        self._progress.update(self._task, status=text, refresh=True)

    def head(self, plan: StepPlan, it: int) -> str:
        """The phase and epoch at iteration ``it``."""
        return f"[bold]{plan.phase}[/bold] ep {it // self.method.p.steps_per_epoch + 1}/{self.epochs}"

    def figures(self, plan: StepPlan, loss: float, images_per_s: float) -> str:
        """Loss (and what it sums), LR, β where the method has one, throughput: the bar's and the epoch line's."""
        beta = f"  β {plan.beta:.3f}" if self.method.uses_beta else ""
        return (
            f"loss {loss:.3f}{LOSS_LABELS[frozenset(j.loss for j in plan.jobs)]}  lr {plan.lr:.4f}{beta}  "
            f"{significant(images_per_s)} img/s"
        )

    def step_done(self, plan: StepPlan, it: int, loss: float, images_per_s: float) -> None:
        """Move the bar to the end of iteration ``it`` and show its figures."""
        self._progress.update(self._task, completed=it + 1)
        self.status(f"{self.head(plan, it)}  {self.figures(plan, loss, images_per_s)}")

    def epoch_line(self, plan: StepPlan, record: dict[str, Any]) -> None:
        """Print the epoch's line: phase, its mean figures and the probes' top-1 when it has them."""
        probes = "  ".join(f"{k} {v:.2f}%" for k, v in record.get("probes", {}).items())
        self._progress.console.print(
            f"epoch {record['epoch'] + 1}/{self.epochs} ({plan.phase}) "
            f"{self.figures(plan, record['train_loss'], record['images_per_s'])}"
            + (f"  top-1 {probes}" if probes else ""),
            soft_wrap=True,
        )
