"""Every ``ofa-edge COMMAND --option`` the README and docs show names a real command and one of its
options (so a renamed option cannot leave the docs behind)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ofa_edge.cli.app import COMMANDS, load_command

ROOT = Path(__file__).parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("scripts/**/*.md"))]
# `ofa-edge CMD ...` up to the end of a code span, a comment, or the line
USE = re.compile(r"ofa-edge +([a-z]+)((?: +[^\s`#|)]+)*)")


def _uses() -> list[tuple[str, str, list[str]]]:
    uses = []
    for doc in DOCS:
        for line in doc.read_text().splitlines():
            for m in USE.finditer(line):
                if m.group(1) in COMMANDS or m.group(2).lstrip().startswith("-"):
                    flags = re.findall(r"(?<!\S)(--?[a-zA-Z][\w-]*)", m.group(2))
                    uses.append((doc.relative_to(ROOT).as_posix(), m.group(1), flags))
    return uses


def test_the_docs_show_commands() -> None:
    assert len(_uses()) > 50 and {cmd for _, cmd, _ in _uses()} >= {"profile", "search", "export", "train", "prune"}


@pytest.mark.parametrize("command", COMMANDS)
def test_documented_options_exist(command: str) -> None:
    options = {o for p in load_command(command).params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    uses = [(doc, flag) for doc, cmd, flags in _uses() if cmd == command for flag in flags]
    wrong = sorted({f"{doc}: {flag}" for doc, flag in uses if flag not in options})
    assert not wrong, f"`ofa-edge {command}` has no such option: {wrong}"


def test_documented_commands_exist() -> None:
    unknown = sorted({f"{doc}: {cmd}" for doc, cmd, _ in _uses() if cmd not in COMMANDS})
    assert not unknown, f"no such ofa-edge command: {unknown}"


# The page that documents each command's options (train and eval: docs/training.md, not held to this yet).
REFERENCE = {
    "search": "docs/search.md", "export": "docs/export.md", "prune": "docs/prune.md", "profile": "docs/latency.md",
    "devices": "docs/latency.md", "space": "docs/supernet.md", "quickstart": "README.md", "docs": "README.md",
}  # fmt: skip


@pytest.mark.parametrize("command", sorted(REFERENCE))
def test_every_option_is_documented(command: str) -> None:
    """An option added to a command shows up on its page (search's --top-k, profile's
    --resolutions and others had none)."""
    text = (ROOT / REFERENCE[command]).read_text()
    options = {o for p in load_command(command).params for o in p.opts if o.startswith("--")} - {"--help"}
    missing = sorted(o for o in options if not re.search(re.escape(o) + r"(?![\w-])", text))
    assert not missing, f"{REFERENCE[command]} does not name these options of `ofa-edge {command}`: {missing}"
