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


def work_dir() -> Path:
    """Where commands keep their outputs by default (``./ofa-edge-runs`` or ``$OFA_EDGE_HOME``)."""
    return Path(os.environ.get("OFA_EDGE_HOME", "ofa-edge-runs"))
