"""Where ofa-edge finds its files: the shipped ones inside the package (devices, latency tables, pretrained
supernet, all read-only) and yours (profiled tables, your device files, runs), which come first."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_DEVICES = PACKAGE_DIR / "devices"
SHIPPED_TABLES = PACKAGE_DIR / "latency_tables"
DOCS_DIR = PACKAGE_DIR / "docs"  # in a checkout a link to its docs/; the wheel ships them there


def env_path(name: str) -> Path | None:
    """The folder or file the environment variable ``name`` names, with ``~`` expanded; ``None`` when it
    is unset or empty (``OFA_EDGE_HOME=`` means the default, not the current folder)."""
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def user_data_dir() -> Path:
    """This user's ofa-edge folder: ``$XDG_DATA_HOME/ofa-edge`` (default ``~/.local/share/ofa-edge``; a
    relative ``$XDG_DATA_HOME`` is ignored, as the XDG spec says; with no home, ``./.ofa-edge``)."""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    if os.path.isabs(xdg):
        return Path(xdg) / "ofa-edge"
    try:
        home = Path.home()
    except RuntimeError:  # no $HOME and no passwd entry (some containers)
        return Path(".ofa-edge").absolute()
    return home / ".local" / "share" / "ofa-edge"


def devices_dir() -> Path:
    """Your device files (``$OFA_EDGE_DEVICES``, else ``<user data>/devices``); they come before the shipped ones."""
    return env_path("OFA_EDGE_DEVICES") or user_data_dir() / "devices"


def latency_tables_dir() -> Path:
    """Where ``profile`` writes tables (``$OFA_EDGE_LATENCY_TABLES``, else ``<user data>/latency_tables``);
    read before the shipped ones, which are never written."""
    return env_path("OFA_EDGE_LATENCY_TABLES") or user_data_dir() / "latency_tables"


def is_shipped_table(path: str | Path) -> bool:
    """Whether ``path`` is a table shipped inside the package (read, never written)."""
    return Path(path).resolve().parent == SHIPPED_TABLES.resolve()


def device_dirs() -> tuple[Path, Path]:
    """Where device files are looked up, first match wins: yours, then the shipped ones."""
    return devices_dir(), SHIPPED_DEVICES


def table_dirs() -> tuple[Path, Path]:
    """Where latency tables are looked up, first match wins: yours (profiled), then the shipped ones."""
    return latency_tables_dir(), SHIPPED_TABLES


def find_first(dirs: tuple[Path, ...], name: str) -> Path | None:
    """``dir / name`` in the first of ``dirs`` that holds it as a file, or ``None``."""
    return next((d / name for d in dirs if (d / name).is_file()), None)


def pretrained_dir() -> Path:
    """The embedded pretrained supernet shipped inside the package."""
    return PACKAGE_DIR / "pretrained"


def embedded_supernet() -> Path:
    """The pretrained supernet's checkpoint (beside it: its accuracy cache and predictor)."""
    return pretrained_dir() / "supernet.safetensors"


def require_embedded_supernet(alternative: str = "") -> Path:
    """The embedded supernet when ``--supernet`` was not given; a :class:`UserError` when it is not installed.

    ``alternative`` is appended to the fix (e.g. search's ``--accuracy-proxy macs``).
    """
    net = embedded_supernet()
    if not net.is_file():
        from ofa_edge.errors import UserError

        raise UserError(
            f"no --supernet was given and the embedded pretrained supernet '{net}' is not installed in this copy "
            f"of ofa-edge. Pass --supernet PATH to a .safetensors checkpoint (train one with `ofa-edge train`)"
            f"{alternative}."
        )
    return net


def doc_pages() -> dict[str, Path]:
    """The documentation pages shipped with the package, by topic (``latency`` for ``docs/latency.md``)."""
    return {p.stem: p for p in sorted(DOCS_DIR.glob("*.md"), key=lambda p: p.stem)}


def doc_page(topic: str) -> Path:
    """The page of ``topic`` (``ofa-edge docs TOPIC``); an unknown one is a :class:`UserError` listing the topics."""
    pages = doc_pages()
    if topic.removesuffix(".md") in pages:
        return pages[topic.removesuffix(".md")]
    from ofa_edge.errors import UserError, did_you_mean

    raise UserError(
        f"no documentation page '{topic}'.{did_you_mean(topic, pages)} The pages: {', '.join(pages)}; "
        "`ofa-edge docs` lists them with their titles."
    )


def work_dir() -> Path:
    """Where commands keep their outputs by default (``./ofa-edge-runs`` or ``$OFA_EDGE_HOME``)."""
    return env_path("OFA_EDGE_HOME") or Path("ofa-edge-runs")


def work_dir_origin() -> str:
    """Where :func:`work_dir` came from, as messages about it say: ``OFA_EDGE_HOME`` or the default."""
    return "OFA_EDGE_HOME" if env_path("OFA_EDGE_HOME") else "the default, under the current folder"


def supernet_file_dirs(supernet: str | Path) -> tuple[Path, ...]:
    """Where the files derived from a supernet checkpoint (its accuracy cache, its predictors) are looked
    up, in order; new ones are written to the first. Beside the checkpoint; for the embedded supernet,
    whose folder is part of the package and never written, ``<user data>/pretrained`` and then the package's."""
    folder = Path(supernet).resolve().parent
    if folder == pretrained_dir():
        return user_data_dir() / "pretrained", folder
    return (folder,)


def last_search_path() -> Path:
    """Where ``ofa-edge search`` leaves its result for ``export`` (``<work_dir>/last_search.json``)."""
    return work_dir() / "last_search.json"


def last_profile_path() -> Path:
    """Where ``ofa-edge profile`` notes the device and table it wrote, for ``search``'s default device
    (``<work_dir>/last_profile.json``)."""
    return work_dir() / "last_profile.json"
