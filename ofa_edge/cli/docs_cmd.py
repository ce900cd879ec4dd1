"""``ofa-edge docs``: the documentation pages shipped with the package (messages cite them by topic)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, emit, out
from ofa_edge.cli.docs_links import for_terminal
from ofa_edge.paths import DOCS_DIR, doc_page, doc_pages


def _title(page: Path) -> str:
    """The page's first heading, without its ``#``."""
    heading = next((line for line in page.read_text().splitlines() if line.startswith("#")), page.stem)
    return heading.lstrip("#").strip()


def docs(
    topic: Annotated[str, typer.Argument(help="A page (e.g. latency, search, export); omit to list the pages.")] = "",
    path: Annotated[
        bool, typer.Option("--path", help="Print only the page's file path (to open it in an editor or viewer).")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read the documentation: list the pages, print one as Markdown (pipe it to a pager), or give its path.

    A printed page's links to other pages read `ofa-edge docs TOPIC`, and its images their absolute paths."""
    if not topic:
        pages = [{"topic": t, "title": _title(p), "path": str(p)} for t, p in doc_pages().items()]

        def render() -> None:
            t = Table(title=f"ofa-edge docs ({DOCS_DIR.resolve()})", box=box.SIMPLE_HEAD)
            t.add_column("topic", no_wrap=True)
            t.add_column("title")
            for p in pages:
                t.add_row(p["topic"], p["title"])
            out.print(t)
            out.print("`ofa-edge docs TOPIC` prints a page; `--path` gives its file.", highlight=False)

        emit({"folder": str(DOCS_DIR.resolve()), "pages": pages}, as_json, render)
        return
    page = doc_page(topic)
    if as_json:
        emit({"topic": page.stem, "title": _title(page), "path": str(page.resolve())}, as_json)
    else:
        sys.stdout.write(f"{page.resolve()}\n" if path else for_terminal(page.read_text()))


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
