"""``ofa-edge space``: describe a search space."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, emit, note, out
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.space.search_space import value_set
from ofa_edge.units import check_range


def _range(lo: int, hi: int, scale: float, fmt: str) -> str:
    return f"{lo / scale:{fmt}}-{hi / scale:{fmt}}M"


def space(
    name: Annotated[str, typer.Argument(help="Space name; omit to list all spaces.")] = "",
    classes: Annotated[
        int | None, typer.Option(help="Classes assumed for the classifier's cost (default: the space's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Describe a search space: subnets, MACs/params range, min and max configs."""
    check_range("--classes", classes, ge=1)
    names = [SearchSpace.get(name).name] if name else SearchSpace.names()
    docs = [SearchSpace.get(n).describe(num_classes=classes) for n in names]
    if classes is None:
        note("--classes not given: costs assume 10 classes for cifar spaces, 1000 for imagenet spaces")

    def render() -> None:
        t = Table(title="ofa-edge search spaces", box=box.SIMPLE_HEAD, collapse_padding=True)
        t.add_column("space", no_wrap=True)
        t.add_column("px", min_width=10)  # "24, 28, 32"; a longer set wraps in a narrow terminal
        t.add_column("subnets", justify="right", no_wrap=True)
        t.add_column("MACs", justify="right", no_wrap=True)
        t.add_column("params", justify="right", no_wrap=True)
        t.add_column("classes", justify="right", no_wrap=True, min_width=7)
        for d in docs:
            t.add_row(
                d["name"],
                value_set(d["resolutions"]),
                f"{d['num_subnets']:.2e}",
                _range(*d["macs_range"], 1e6, ".1f"),
                _range(*d["params_range"], 1e6, ".2f"),
                str(d["num_classes_assumed"]),
            )
        out.print(t)
        if len(docs) == 1:
            d = docs[0]
            out.print(f"[bold]{d['name']}[/bold]: {d['description']}")
            out.print(f"kernel {d['kernels']}  expand {d['expands']}  depth {d['depths']}  width x{d['width_mult']}")
            for which in ("min", "max"):
                out.print(f"{which}: {SubnetConfig.from_dict(d[which]).describe()}", highlight=False)

    emit(docs[0] if name else {"spaces": docs}, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("space")(space)
