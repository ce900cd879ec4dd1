"""Every relative link of the README and the docs leads to a file of the repository, and an anchor to a
heading of the page it names (GitHub's anchors: docs/supernet.md linked benchmark sections whose
headings had since gained their dates); every repository path they name in code exists."""

from __future__ import annotations

import re
from pathlib import Path

from ofa_edge.cli.docs_links import EXTERNAL, FENCED, LINK, sections

ROOT = Path(__file__).parents[1]
# `benchmarks/x.py`, `tests/cli/test_x.py::test_y`: a path of the repository in a code span (no {a,b} or * patterns)
REPO_PATH = re.compile(r"`((?:ofa_edge|scripts|benchmarks|tests|docs)/[\w./-]+?)(?:::\w+)?`")
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("scripts/**/*.md"))]


def _links() -> list[tuple[Path, str]]:
    """(page, target) of each relative link outside code blocks."""
    return [
        (page, m.group(3))
        for page in PAGES
        for prose in FENCED.split(page.read_text())[0::2]
        for m in LINK.finditer(prose)
        if not EXTERNAL.match(m.group(3))
    ]


def _broken(page: Path, target: str, root: Path = ROOT) -> str | None:
    """Why ``target`` leads nowhere from ``page`` (a file of ``root``), or ``None``."""
    path, _, anchor = target.partition("#")
    file = (page.parent / path).resolve() if path else page
    if not file.is_relative_to(root) or not file.exists():
        return "no such file in the repository"
    if anchor and file.suffix == ".md" and anchor not in sections(file.read_text()):
        return f"{file.name} has no heading with the anchor #{anchor}"
    return None


def test_the_docs_have_relative_links() -> None:
    links = _links()
    assert len(links) > 40 and any("/" in t for _, t in links) and any("#" in t for _, t in links)


def test_every_relative_link_resolves() -> None:
    broken = [f"{p.relative_to(ROOT)}: {t}: {why}" for p, t in _links() if (why := _broken(p, t))]
    assert not broken, "links that lead nowhere:\n" + "\n".join(broken)


def test_every_repository_path_named_exists() -> None:
    named = {(page.relative_to(ROOT).as_posix(), p) for page in PAGES for p in REPO_PATH.findall(page.read_text())}
    assert len(named) > 50
    missing = sorted(f"{page}: {p}" for page, p in named if not (ROOT / p).exists())
    assert not missing, "the docs name paths the repository does not hold:\n" + "\n".join(missing)


def test_an_anchor_is_checked_against_the_headings(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    page = repo / "page.md"
    page.write_text("# Title\n\n## CUDA graphs (`--cuda-graphs`)\n\n```\n# not a heading\n```\n## Title\n")
    (tmp_path / "outside.md").write_text("# Outside\n")
    assert sections(page.read_text()) == {
        "title": "Title",
        "cuda-graphs---cuda-graphs": "CUDA graphs (`--cuda-graphs`)",
        "title-1": "Title",
    }
    assert _broken(page, "#title-1", repo) is None
    assert _broken(page, "#not-a-heading", repo) == "page.md has no heading with the anchor #not-a-heading"
    for nowhere in ("missing.md", "../outside.md"):
        assert _broken(page, nowhere, repo) == "no such file in the repository"
    old = "benchmarks.md#batch-norm-recalibration-the-batch-size"  # the heading's anchor before its date was added
    assert _broken(ROOT / "docs" / "supernet.md", old) == f"benchmarks.md has no heading with the anchor #{old[14:]}"
