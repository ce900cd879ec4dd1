"""The links of a documentation page, rewritten for a reader of ``ofa-edge docs TOPIC``: printed, or read from
an installed copy, a relative link leads nowhere. A link to another page becomes the ``ofa-edge docs TOPIC``
that prints it, a link to a file the package ships (an image) its absolute path, and a link to a file only the
source repository holds says so."""

from __future__ import annotations

import posixpath
import re

from ofa_edge.paths import DOCS_DIR, PACKAGE_DIR, doc_pages

LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
EXTERNAL = re.compile(r"[a-zA-Z][\w+.-]*:")  # https:, mailto:, file:
FENCED = re.compile(r"(^ *```.*?^ *```[^\n]*$)", re.MULTILINE | re.DOTALL)  # captured: re.split keeps the code blocks
HEADING = re.compile(r"^#{1,6} +(.+?)(?: +#+)? *$", re.MULTILINE)
SHIPPED_AS = {"docs": DOCS_DIR, "ofa_edge": PACKAGE_DIR}  # source repository folder -> where a wheel installs it


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(markdown: str) -> dict[str, str]:
    """The page's headings by their anchors (outside code blocks; a repeated one gets ``-1``, ``-2``, ...)."""
    found: dict[str, str] = {}
    prose = "\n".join(FENCED.split(markdown)[0::2])
    for title in HEADING.findall(prose):
        anchor, n = slug(title), 0
        while anchor in found:
            n += 1
            anchor = f"{slug(title)}-{n}"
        found[anchor] = title
    return found


def _described(text: str, names: set[str], described: str) -> str:
    """``described`` in place of a link text that only repeats one of the target's ``names``, else after it."""
    repeats = text.strip("`").casefold() in {n.casefold() for n in names}
    return described if repeats else f"{text} ({described})"


def _to_section(text: str, anchor: str, headings: dict[str, str], names: set[str], command: str = "") -> str:
    """A link to a page (``command`` prints it; none: the page printed) and, by ``anchor``, one of its ``headings``."""
    title = headings.get(anchor, "")
    where = ", ".join(filter(None, [command, title and f"section “{title}”"]))
    return _described(text, names | {title}, where) if where else text


def _rewrite(link: re.Match[str], headings: dict[str, str]) -> str:
    """One Markdown link of a page (of these ``headings``) as it leads somewhere from a terminal."""
    bang, text, target = link.groups()
    if EXTERNAL.match(target):
        return link.group(0)
    path, _, anchor = target.partition("#")
    if not path:
        return _to_section(text, anchor, headings, set())
    in_repo = posixpath.normpath(posixpath.join("docs", path))
    folder, _, rest = in_repo.partition("/")
    topic = posixpath.splitext(rest)[0]
    if folder == "docs" and rest.endswith(".md") and topic in doc_pages():
        names = {topic, f"{topic}.md", in_repo}
        page_headings = sections(doc_pages()[topic].read_text())
        return _to_section(text, anchor, page_headings, names, f"`ofa-edge docs {topic}`")
    shipped = SHIPPED_AS[folder] / rest if folder in SHIPPED_AS else None
    if shipped is not None and shipped.is_file():
        return f"{bang}[{text}]({shipped.resolve()})"
    return _described(text, {path, posixpath.basename(path), in_repo}, f"`{in_repo}` in the source repository")


def for_terminal(markdown: str) -> str:
    """A page's Markdown with each relative link rewritten; code blocks are kept as they are."""
    headings = sections(markdown)
    parts = FENCED.split(markdown)
    parts[0::2] = [LINK.sub(lambda m: _rewrite(m, headings), prose) for prose in parts[0::2]]
    return "".join(parts)
