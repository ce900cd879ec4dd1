"""The device of the last ``ofa-edge profile`` run in this work folder: ``ofa-edge search`` without
``--device`` searches for it (``profile --device jetson-orin`` then ``search --latency 15ms``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_json
from ofa_edge.latency.devices import LOCAL_DEVICE
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import last_profile_path


@dataclass(frozen=True)
class LastProfile:
    """What the last profile wrote: the device's name, its table's path and when."""

    device: str
    table: Path
    date: str


def remember_profile(device: str, table: Path) -> None:
    """Note that ``profile`` just wrote ``table`` for ``device`` (atomically, in the work folder)."""
    doc = {
        "device": device,
        "table": str(Path(table).absolute()),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(last_profile_path(), doc)


def last_profile() -> LastProfile | None:
    """The last profile's device and table, or ``None`` when there is none here, its note cannot be read, or its
    table is gone (a default is never an error: the caller falls back to its own)."""
    try:
        doc = json.loads(last_profile_path().read_text())
        found = LastProfile(str(doc["device"]), Path(doc["table"]), str(doc.get("date", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if found.table.is_file() else None


@dataclass(frozen=True)
class DefaultDevice:
    """The device a search without ``--device`` targets, and why: the last profile's, with its table, when that
    table is complete; else this machine (``table`` None: the device's own table lookup)."""

    name: str
    why: str
    table: LatencyTable | None = None
    table_path: Path | None = None


def default_device() -> DefaultDevice:
    """:class:`DefaultDevice` of this work folder (``search`` and ``devices`` say the same)."""
    last = last_profile()
    if last is None:
        return DefaultDevice(LOCAL_DEVICE, "no `ofa-edge profile` here yet")
    table = None
    try:  # read once: a table that is unusable still says whether it is partial
        table = LatencyTable.load(last.table, require_complete=False)
        table.check_complete(last.table)
    except UserError:  # stopped part-way (--max-entries, Ctrl-C), or damaged since: a search could not use it
        state = "incomplete" if table is not None and not table.complete else "unreadable"
        return DefaultDevice(LOCAL_DEVICE, f"the last `ofa-edge profile` here left {last.device}'s table {state}")
    return DefaultDevice(last.device, f"the last `ofa-edge profile` here, {last.date}", table, last.table)
