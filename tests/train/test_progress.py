"""The training run's display: the bar's figures and the epoch line (what a log of the run keeps)."""

import io

import pytest
from rich.console import Console

from ofa_edge.space import SearchSpace
from ofa_edge.train.methods import MethodParams, make_method
from ofa_edge.train.progress import TrainProgress, significant

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _progress(name: str, epochs: int = 4) -> tuple[TrainProgress, io.StringIO]:
    out = io.StringIO()
    method = make_method(name, SPACE, MethodParams(epochs=epochs, steps_per_epoch=5, lr=0.1, warmup_frac=0.5))
    console = Console(file=out, width=200, color_system=None)
    return TrainProgress(console, method, name, 0, live=False), out


@pytest.mark.parametrize(("value", "shown"), [(0.4372, "0.437"), (12.34, "12.3"), (99.94, "99.9"), (1234.5, "1,234")])
def test_rates_show_three_significant_digits_below_100_and_whole_above(value: float, shown: str) -> None:
    assert significant(value) == shown


def test_deps_figures_show_beta_and_what_the_loss_sums() -> None:
    progress, _ = _progress("deps")
    full, shrink = progress.method.plan(0), progress.method.plan(19)
    assert progress.figures(full, 2.5, 1234.0) == "loss 2.500  lr 0.1000  β 0.000  1,234 img/s"
    shown = progress.figures(shrink, 1.25, 50.0)
    assert "(mean: max net CE, subnets KD)" in shown and f"β {shrink.beta:.3f}" in shown


def test_ofa_figures_have_no_beta() -> None:
    progress, _ = _progress("ofa", epochs=6)
    assert "β" not in progress.figures(progress.method.plan(0), 1.0, 10.0)


def test_epoch_line_names_epoch_phase_and_probes() -> None:
    progress, out = _progress("deps")
    record = {"epoch": 1, "train_loss": 0.75, "images_per_s": 321.0, "probes": {"min": 41.5, "max": 60.25}}
    with progress:
        progress.epoch_line(progress.method.plan(9), record)
    line = out.getvalue().strip()
    assert line.startswith("epoch 2/4 (full) loss 0.750")
    assert line.endswith("top-1 min 41.50%  max 60.25%")
    assert progress.head(progress.method.plan(9), 9) == "[bold]full[/bold] ep 2/4"
