"""Does a measured table still hold on this machine? ``ofa-edge profile --check`` and ``--rescale``.

Both time the table's speed-reference subnets here (:func:`~ofa_edge.latency.drift.check_speed`);
``--rescale`` then puts every latency on this machine's speed now.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ofa_edge.errors import UserError
from ofa_edge.host import CPU_FIELDS
from ofa_edge.latency.backends import table_backend, why_not_here
from ofa_edge.latency.calibrate import uncorrected_warning
from ofa_edge.latency.devices import Device
from ofa_edge.latency.drift import READINGS, check_speed, local_table_warning, other_cpu_warning, rescale, same_cpu
from ofa_edge.latency.table import LatencyTable, lock_table

Status = Callable[[str], AbstractContextManager[Any]]


def table_warnings(device: str, table: LatencyTable, path: str | Path) -> list[str]:
    """What search and prune warn before they predict with ``table`` of ``device``: another CPU's (or a
    rescaled one's) block costs for this machine, and a measured table without an end-to-end correction."""
    found = (local_table_warning(device, table, path), uncorrected_warning(device, table, path))
    return [message for message in found if message is not None]


def require_device_here(dev: Device, path: Path, table: LatencyTable, mode: str) -> None:
    """Refuse ``mode`` when this machine is not ``dev`` (other CPU architecture, its runtime or GPU absent):
    it times the table's reference subnets here, which says nothing about another machine."""
    why = why_not_here(dev, table.provenance.get("threads"))
    if why is None:
        return
    what = f"an {dev.accelerator} GPU" if dev.accelerator else f"an {dev.arch} host" if dev.arch else dev.description
    then = (
        ""
        if table.provenance.get("speed_reference")
        else " There too this table has no speed reference to time, so measure how well it holds with "
        f"`ofa-edge profile --device {dev.name} --validate 200` (end-to-end timings against its predictions)."
    )
    raise UserError(
        f"{mode} times the table's speed-reference subnets on this machine, but '{path}' is the table of "
        f"{dev.name} ({what}), which this machine is not ({why}), so {mode} cannot compare it here. Run it on "
        f"that device (`ofa-edge profile --device {dev.name} {mode}` there, e.g. over ssh).{then}"
    )


def check_table(
    dev: Device,
    path: Path,
    threads: int | None = None,
    rescale_to: Path | None = None,
    status: Status = lambda _: contextlib.nullcontext(),
    warn: Callable[[str], None] = lambda _: None,
    busy_ok: bool = False,
) -> dict[str, Any]:
    """Time ``path``'s speed reference here (``factor``: this machine's latency over the table's scale;
    ``holds``: within tolerance; ``same_cpu``: whether the table was measured on this CPU model). With
    ``rescale_to`` the table is put on this speed (with the threads and batch it was measured with) and
    written there, unless other processes held the cores (``busy``: their load would go into every latency;
    ``busy_ok`` rescales anyway). ``status(text)`` wraps the timing (a spinner in the CLI); ``warn`` gets the
    warning for a table that another CPU measured."""
    with lock_table(rescale_to) if rescale_to is not None else contextlib.nullcontext():
        table = LatencyTable.load(path)
        rescale_table = rescale_to is not None
        mode = "--rescale" if rescale_table else "--check"
        if table.estimated:
            raise UserError(
                f"'{path}' is an estimated table; --check and --rescale compare measured tables with this machine."
            )
        require_device_here(dev, path, table, mode)
        if not table.provenance.get("speed_reference"):
            raise UserError(
                f"'{path}' was measured without a speed reference, so there is nothing to compare with; re-profile it "
                f"(--force) with `speed_reference: 5` in the device file."
            )
        backend, batch = table_backend(dev, table)
        measured_threads = getattr(backend, "threads", threads)
        if threads is not None and threads != measured_threads:
            raise UserError(
                f"'{path}' was measured with {measured_threads} thread(s); {mode} times it the same way: drop --threads."
            )
        with status(f"timing the table's speed-reference subnets ({READINGS} readings)"):
            speed = check_speed(backend, table, batch)
        prov = table.provenance
        written = rescale_to or path
        result = {
            "table": str(written),
            "device": dev.name,
            "measured": prov.get("date", "?"),
            "last_rescaled": (prov.get("rescaled") or [{}])[-1].get("date"),
            "measured_on": {f.removeprefix("host_"): prov.get(f) for f in CPU_FIELDS},
            "same_cpu": same_cpu(prov),
            **speed,
            "rescaled": rescale_table,
        }
        if (message := other_cpu_warning(dev, table, written, rescaled=rescale_table)) is not None:
            warn(message)
        if rescale_to is not None and speed["busy"] and not busy_ok:
            raise UserError(
                f"this machine is busy (1-minute load {speed['load_average']:.1f} on {os.cpu_count()} cores): "
                f"--rescale now would put that load into every latency of '{written}' (×{speed['factor']:.3f} "
                "now). Rescale when it is quiet, or pass --force to put the table on this speed anyway (a device "
                "that always runs under such load)."
            )
        if rescale_to is not None:
            rescale(table, speed).save(rescale_to)
        return result
