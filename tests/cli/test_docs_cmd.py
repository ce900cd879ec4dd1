"""``ofa-edge docs``: the documentation pages the package ships, listed, printed, located; exit 2 on a bad topic."""

from __future__ import annotations

import json
from pathlib import Path

from ofa_edge.paths import DOCS_DIR

ROOT = Path(__file__).parents[2]


def test_lists_every_page_of_the_checkouts_docs(cli) -> None:
    code, out, _ = cli("docs", "--json")
    assert code == 0
    pages = {p["topic"]: p for p in json.loads(out)["pages"]}
    assert sorted(pages) == sorted(p.stem for p in (ROOT / "docs").glob("*.md"))  # the link is the checkout's docs/
    assert pages["latency"]["title"].startswith("Latency tables") and Path(pages["latency"]["path"]).is_file()
    code, out, _ = cli("docs")
    assert code == 0 and "model-card" in out and "Subnet search" in out


def test_prints_a_page_or_its_path(cli) -> None:
    code, out, _ = cli("docs", "search")
    assert code == 0 and out == (ROOT / "docs" / "search.md").read_text()
    code, out, _ = cli("docs", "export.md", "--path")
    assert code == 0 and out == f"{(DOCS_DIR / 'export.md').resolve()}\n"


def test_unknown_page_exits_2_suggesting_the_nearest(cli) -> None:
    code, out, err = cli("docs", "latncy", "--json")
    assert code == 2 and out == ""
    assert "no documentation page 'latncy'. Did you mean 'latency'?" in " ".join(err.split())
