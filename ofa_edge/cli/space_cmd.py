"""``ofa-edge space``: describe a search space."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, emit, out
from ofa_edge.space import SearchSpace


def space(
    name: Annotated[str, typer.Argument(help="Space name; omit to list all spaces.")] = "",
    classes: Annotated[int, typer.Option(help="Classes assumed for the classifier's cost.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Describe a search space: subnets, MACs/params range, min and max configs."""
    names = [SearchSpace.get(name).name] if name else SearchSpace.names()
    docs = []
    for n in names:
        doc = SearchSpace.get(n).describe(num_classes=classes or None)
        docs.append(doc)

    def render() -> None:
        t = Table(title="ofa-edge search spaces")
        for col in ("space", "resolutions", "subnets", "MACs (min-max)", "params (min-max)", "classes"):
            t.add_column(col)
        for d in docs:
            t.add_row(
                d["name"],
                ",".join(map(str, d["resolutions"])),
                f"{d['num_subnets']:.2e}",
                f"{d['macs_range'][0] / 1e6:.1f}M - {d['macs_range'][1] / 1e6:.1f}M",
                f"{d['params_range'][0] / 1e6:.2f}M - {d['params_range'][1] / 1e6:.2f}M",
                str(d["num_classes_assumed"]),
            )
        out.print(t)
        if len(docs) == 1:
            d = docs[0]
            out.print(f"[bold]{d['name']}[/bold]: {d['description']}")
            out.print(f"kernel {d['kernels']}  expand {d['expands']}  depth {d['depths']}  width x{d['width_mult']}")
            out.print(f"min: {d['min']}")
            out.print(f"max: {d['max']}")

    emit(docs[0] if name else {"spaces": docs}, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("space")(space)
