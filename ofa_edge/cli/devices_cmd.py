"""``ofa-edge devices``: the devices ofa-edge knows (devices/*.yaml) and their tables."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from ofa_edge.cli.common import JsonOpt, emit, out
from ofa_edge.errors import UserError
from ofa_edge.latency.backends import backend_for
from ofa_edge.latency.devices import known_devices, load_device
from ofa_edge.latency.profiler import table_path
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import devices_dir


def _table_status(path) -> str:
    if not path.exists():
        return "none"
    try:
        t = LatencyTable.load(path, require_complete=False)
    except UserError:
        return "unreadable"
    if not (t.complete and not t.missing_keys()):
        return "partial"
    return str(t.provenance.get("kind", "measured")) + ("+corrected" if t.correction else "")


def device_summary(name: str) -> dict[str, Any]:
    """One device as a JSON-ready row: its settings, datasheet, table status, runnable here."""
    dev = load_device(name)
    path = table_path(dev)
    absent = backend_for(dev).absent()
    return {
        **dev.to_dict(),
        "backend": dev.backend_name,
        "table": str(path),
        "table_status": _table_status(path),
        "runs_here": absent is None,
        "absent_reason": absent,
    }


def devices(
    name: Annotated[str, typer.Argument(help="Show one device; omit to list all.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List the devices in devices/*.yaml with their runtime, datasheet figures and table status."""
    rows = [device_summary(name)] if name else [device_summary(n) for n in known_devices()]

    def render() -> None:
        t = Table(title=f"ofa-edge devices ({devices_dir()})")
        for col in ("device", "backend", "prec", "res", "TFLOP/s", "GB/s", "table", "backend here"):
            t.add_column(col, no_wrap=col in ("device", "backend"))
        for r in rows:
            ds = r["datasheet"]
            t.add_row(
                r["name"],
                f"{r['backend']} x{r['threads']}",
                r["precision"],
                ",".join(map(str, r["resolutions"])),
                f"{ds['peak_flops'] / 1e12:.3g}",
                f"{ds['memory_bandwidth'] / 1e9:.0f}",
                r["table_status"],
                "yes" if r["runs_here"] else "[dim]no[/dim]",
            )
        out.print(t)
        for r in rows:
            if name:
                out.print(f"[bold]{r['name']}[/bold]: {r['description']} (space {r['space']}, batch {r['batch']})")
                out.print(f"datasheet: {r['datasheet']['source']}")
            if r["absent_reason"] and name:
                out.print(f"not runnable here: {r['absent_reason']}")

    emit(rows[0] if name else {"devices": rows}, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("devices")(devices)
