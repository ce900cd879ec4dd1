"""``ofa-edge docs``: the documentation pages the package ships, listed, printed, located; exit 2 on a bad topic."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ofa_edge.cli.docs_links import EXTERNAL, LINK, for_terminal
from ofa_edge.paths import DOCS_DIR, doc_pages

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
    page = (ROOT / "docs" / "search.md").read_text().splitlines()
    assert code == 0 and len(out.splitlines()) == len(page)
    assert [a for a, b in zip(out.splitlines(), page) if a != b and "](" not in b] == []  # only links change
    assert 'See the "Search (issue 5)" section of `ofa-edge docs benchmarks`.' in out
    code, out, _ = cli("docs", "export.md", "--path")
    assert code == 0 and out == f"{(DOCS_DIR / 'export.md').resolve()}\n"


def test_unknown_page_exits_2_suggesting_the_nearest(cli) -> None:
    code, out, err = cli("docs", "latncy", "--json")
    assert code == 2 and out == ""
    assert "no documentation page 'latncy'. Did you mean 'latency'?" in " ".join(err.split())


def test_printed_pages_link_to_commands_and_absolute_files(cli) -> None:
    """A printed page's relative links led nowhere (and nowhere at all from an installed copy)."""
    for topic in doc_pages():
        code, out, _ = cli("docs", topic)
        assert code == 0
        targets = [m.group(3) for m in LINK.finditer(out) if not EXTERNAL.match(m.group(3))]
        assert all(Path(t).is_absolute() and Path(t).is_file() for t in targets), (topic, targets)
        assert set(re.findall(r"`ofa-edge docs ([\w.-]+)`", out)) <= set(doc_pages()), topic
    _, out, _ = cli("docs", "export")
    assert "2.9–5.1× (`ofa-edge docs benchmarks`, section “Export (issue 6)”)." in out
    _, out, _ = cli("docs", "model-card")
    assert f"![front]({(DOCS_DIR / 'model-card-front.png').resolve()})" in out
    _, out, _ = cli("docs", "latency-validation-h100")
    assert f"]({(DOCS_DIR / 'latency-validation-h100.png').resolve()})" in out


def test_links_to_sections_repository_files_and_code_blocks() -> None:
    page = (
        "# Page\n\n## Outputs\n\nSee [Outputs](#outputs), [the flags](#outputs), [export](export.md#tensorrt),\n"
        "[bench](../benchmarks/run.py), [../README.md](../README.md), ![plot](plot.png) and [PyTorch](https://pytorch.org).\n"
        "```\nx = a[0](b)  # [code](export.md)\n```\n"
    )
    assert for_terminal(page).splitlines()[4:] == [
        "See section “Outputs”, the flags (section “Outputs”), `ofa-edge docs export`, section “TensorRT”,",
        (
            "bench (`benchmarks/run.py` in the source repository), `README.md` in the source repository, "
            "plot (`docs/plot.png` in the source repository) and [PyTorch](https://pytorch.org)."
        ),
        "```",
        "x = a[0](b)  # [code](export.md)",
        "```",
    ]
