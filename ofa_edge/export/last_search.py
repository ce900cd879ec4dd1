"""Read the result of the last ``ofa-edge search`` (``<work_dir>/last_search.json``).

The search command writes it; ``export`` with no ``--subnet`` reads it. Format (extra keys
are ignored)::

    {"subnet": {SubnetConfig.to_dict()},          # required
     "supernet": "path/to/supernet.safetensors",  # or null: the embedded pretrained one
     "device": "jetson-orin",                     # the first searched device
     "predicted": {"latency_ms": 12.3, "accuracy": 91.2},  # latency on the first device
     "latency_table": {... provenance of the first device's table ...},
     "devices": {"jetson-orin": {"predicted_ms": 12.3, "budget_ms": 15.0, "provenance": {...}}, ...},
     "top_k": [{"rank": 1, "id": "3fa9c2", "subnet": {...},  # SubnetConfig.short_id: export --subnet ID
                "latency_ms": {"jetson-orin": 12.3}, "accuracy": 91.2, "macs": ..., "params": ...}, ...]}

``devices`` (every searched device) is absent from records written before multi-device
searches; the first device's ``latency_ms`` and ``latency_table`` then stand for it; ``top_k``
from records written before subnets had ids, and its rows' predictions from records before 2026-12-07.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ofa_edge.errors import ConfigError, UserError
from ofa_edge.paths import last_search_path
from ofa_edge.space import SubnetConfig


@dataclass(frozen=True)
class LastSearch:
    """The subnet a search chose, with what it was chosen for."""

    path: Path
    subnet: SubnetConfig
    supernet: Path | None = None
    device: str | None = None
    predicted: dict[str, Any] = field(default_factory=dict)
    latency_table: dict[str, Any] = field(default_factory=dict)
    # every searched device -> {"latency_ms", "kind" (of its table: measured/estimated), "budget_ms", "latency_table"}
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    top_k: dict[str, SubnetConfig] = field(default_factory=dict)  # the search's best subnets by id, #1 first
    # their predictions by id: {"latency_ms": {device: ms}, "accuracy", "macs", "params"}, as recorded
    top_k_predicted: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, Path] = field(default_factory=dict)  # every searched device -> the table file it predicted with

    def searched_tables(self) -> list[dict[str, Any]]:
        """The provenance of the first device's table, then of every searched device's (the first's again)."""
        return [self.latency_table, *(d["latency_table"] for d in self.devices.values())]


def search_beside(subnet_file: str | Path, subnet: SubnetConfig) -> LastSearch | None:
    """The search that wrote ``subnet_file``: the ``search.json`` in its folder (a superset of
    ``last_search.json``), when that search chose this very subnet; ``None`` otherwise."""
    path = Path(subnet_file).with_name("search.json")
    try:
        found = read_last_search(path)
    except UserError:
        return None  # not a search report: the subnet file alone is enough
    return found if found is not None and found.subnet.canonical() == subnet.canonical() else None


def read_last_search(path: str | Path | None = None) -> LastSearch | None:
    """The last search result, or ``None`` if there is none; a malformed file is a :class:`UserError`."""
    path = Path(path) if path is not None else last_search_path()
    if not path.is_file():
        return None
    fix = "run `ofa-edge search` again or pass --subnet FILE"
    try:
        doc = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"last search result '{path}' is unreadable ({e}); {fix}.") from None
    if not isinstance(doc, dict) or "subnet" not in doc:
        raise UserError(f"last search result '{path}' has no 'subnet' entry; {fix}.")
    try:
        subnet = SubnetConfig.from_dict(doc["subnet"])
    except ConfigError as e:
        raise ConfigError(e.field, f"{e.detail}; {fix}", f"last search result '{path}'") from None
    supernet = doc.get("supernet")
    predicted, table = doc.get("predicted") or {}, doc.get("latency_table") or {}
    if not isinstance(predicted, dict) or not isinstance(table, dict):
        raise UserError(f"last search result '{path}': 'predicted' and 'latency_table' must be objects; {fix}.")
    devices = doc.get("devices") or {}
    if not isinstance(devices, dict) or not all(isinstance(d, dict) for d in devices.values()):
        raise UserError(f"last search result '{path}': 'devices' must map device names to objects; {fix}.")
    for name, d in devices.items():
        if not _is_ms(d.get("predicted_ms")) or not (d.get("budget_ms") is None or _is_ms(d["budget_ms"])):
            raise UserError(
                f"last search result '{path}': device '{name}' needs a number 'predicted_ms' (and 'budget_ms' a "
                f"number or null); {fix}."
            )
    top_k = doc.get("top_k") or []
    if not isinstance(top_k, list) or not all(isinstance(r, dict) and isinstance(r.get("subnet"), dict) for r in top_k):
        raise UserError(f"last search result '{path}': 'top_k' must be a list of objects with a 'subnet'; {fix}.")
    try:
        ranked = [SubnetConfig.from_dict(r["subnet"]) for r in top_k]
    except ConfigError as e:
        raise ConfigError(f"top_k.{e.field}", f"{e.detail}; {fix}", f"last search result '{path}'") from None
    return LastSearch(
        path=path,
        subnet=subnet,
        supernet=Path(supernet) if supernet else None,
        device=doc.get("device"),
        predicted=predicted,
        latency_table=table,
        devices=_device_predictions(devices, doc.get("device"), predicted, table),
        top_k={cfg.short_id(): cfg for cfg in ranked},
        top_k_predicted={cfg.short_id(): _row_predicted(r) for cfg, r in zip(ranked, top_k, strict=True)},
        tables={name: Path(d["table"]) for name, d in devices.items() if isinstance(d.get("table"), str)},
    )


def _row_predicted(row: dict[str, Any]) -> dict[str, Any]:
    """The predictions a top-k row records (none from records before rows had them; a value of the
    wrong type is left out)."""
    out = {k: row[k] for k in ("accuracy", "macs", "params") if _is_ms(row.get(k))}
    latency = row.get("latency_ms")
    if isinstance(latency, dict) and latency and all(_is_ms(v) for v in latency.values()):
        out["latency_ms"] = latency
    return out


def _is_ms(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _device_predictions(
    devices: dict[str, dict[str, Any]], first: str | None, predicted: dict[str, Any], table: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Each searched device's predicted latency, its table's kind and provenance, and its budget
    (``None``: only reported); a record without ``devices`` gives its one device."""
    if not devices and first is not None and "latency_ms" in predicted:
        devices = {first: {"predicted_ms": predicted["latency_ms"], "provenance": table}}
    return {
        name: {
            "latency_ms": d.get("predicted_ms"),
            "kind": (d.get("provenance") or {}).get("kind", "unknown"),
            "budget_ms": d.get("budget_ms"),
            "latency_table": d.get("provenance") or {},
        }
        for name, d in devices.items()
    }
