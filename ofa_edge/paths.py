"""Where ofa-edge finds its shipped files (devices, latency tables, pretrained supernet)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def devices_dir() -> Path:
    """``devices/`` of the checkout, or ``$OFA_EDGE_DEVICES``."""
    return Path(os.environ.get("OFA_EDGE_DEVICES", REPO_ROOT / "devices"))


def latency_tables_dir() -> Path:
    """``latency_tables/`` of the checkout, or ``$OFA_EDGE_LATENCY_TABLES``."""
    return Path(os.environ.get("OFA_EDGE_LATENCY_TABLES", REPO_ROOT / "latency_tables"))


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


def work_dir() -> Path:
    """Where commands keep their outputs by default (``./ofa-edge-runs`` or ``$OFA_EDGE_HOME``)."""
    return Path(os.environ.get("OFA_EDGE_HOME", "ofa-edge-runs"))


def last_search_path() -> Path:
    """Where ``ofa-edge search`` leaves its result for ``export`` (``<work_dir>/last_search.json``)."""
    return work_dir() / "last_search.json"
