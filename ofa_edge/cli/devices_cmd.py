"""``ofa-edge devices``: the devices ofa-edge knows (your device files, then the shipped ones) and their tables."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, emit, out, warn
from ofa_edge.errors import UserError
from ofa_edge.latency.backends import why_not_here
from ofa_edge.latency.devices import (
    find_device_file,
    find_table_path,
    is_device_path,
    known_devices,
    load_device,
)
from ofa_edge.latency.last_profile import default_device
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_DEVICES, SHIPPED_TABLES, devices_dir, env_path


def _table_status(path) -> str:
    if not path.exists():
        return "none"
    try:
        t = LatencyTable.load(path, require_complete=False)
    except UserError:
        return "unreadable"
    if not (t.complete and not t.missing_keys()):
        return "partial"
    return t.status


def device_summary(name: str) -> dict[str, Any]:
    """One device as a JSON-ready row: its settings, datasheet, table status, runnable here."""
    dev = load_device(name)
    path = find_table_path(dev)
    absent = why_not_here(dev)
    return {
        **dev.to_dict(),
        "backend": dev.backend_name,
        "file": name if is_device_path(name) else str(find_device_file(name)),
        "table": str(path),
        "table_status": _table_status(path),
        "table_is_yours": path.parent != SHIPPED_TABLES,
        "runs_here": absent is None,
        "absent_reason": absent,
    }


def _all_summaries() -> list[dict[str, Any]]:
    """Every device's row; a broken device file is skipped with a warning naming it, so one bad
    file does not hide the others."""
    rows = []
    for n in known_devices():
        try:
            rows.append(device_summary(n))
        except UserError as e:
            warn(f"skipped device '{n}': {e}")
    return rows


def devices(
    name: Annotated[str, typer.Argument(help="Show one device; omit to list all.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List the devices (your device files, then the shipped ones) with their runtime, datasheet figures and
    table status."""
    if env_path("OFA_EDGE_DEVICES") and not devices_dir().is_dir():
        warn(
            f"OFA_EDGE_DEVICES is '{devices_dir()}', which is not a folder; only the shipped devices are listed. "
            "Point it at a folder of <name>.yaml device files, or unset it."
        )
    rows = [device_summary(name)] if name else _all_summaries()
    searched = default_device()
    default = {"device": searched.name, "why": searched.why}

    def render() -> None:
        t = Table(title="ofa-edge devices", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
        t.add_column("device", no_wrap=True)
        t.add_column("runtime", min_width=19)  # wraps between backend, precision and threads
        for col in ("TFLOP/s", "GB/s"):
            t.add_column(col, no_wrap=True, justify="right")
        t.add_column("table")
        t.add_column("here", no_wrap=True)
        for r in rows:
            ds = r["datasheet"]
            t.add_row(
                r["name"],
                f"{r['backend']} {r['precision']} x{r['threads']}",
                f"{ds['peak_flops'] / 1e12:.3g}",
                f"{ds['memory_bandwidth'] / 1e9:.0f}",
                r["table_status"] + (" (yours)" if r["table_is_yours"] and r["table_status"] != "none" else ""),
                "yes" if r["runs_here"] else "[dim]no[/dim]",
            )
        out.print(t)
        out.print(f"device files: yours in {devices_dir()}, shipped in {SHIPPED_DEVICES}", soft_wrap=True)
        if not name:
            out.print(f"search's default device here: {default['device']} ({default['why']}); --device chooses another")
        for r in rows:
            if name:
                out.print(f"[bold]{r['name']}[/bold]: {r['description']} (space {r['space']}, batch {r['batch']})")
                out.print(f"datasheet: {r['datasheet']['source']}")
                out.print(f"table: {r['table']} ({r['table_status']})", soft_wrap=True)
            if r["absent_reason"] and name:
                out.print(f"not runnable here: {r['absent_reason']}")

    emit(rows[0] if name else {"devices": rows, "search_default": default}, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("devices")(devices)
