"""End-to-end timing of whole random subnets (for calibration and validation), resumable.

Measurements are kept in ``reports/<table>.e2e.json`` beside the table, keyed by the subnet's
JSON, so an interrupted ``--calibrate``/``--validate`` run continues where it stopped and
the same subnets are never timed twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ofa_edge.io import atomic_write_json
from ofa_edge.latency.backends import Backend
from ofa_edge.latency.backends.base import Timer
from ofa_edge.latency.drift import SpeedReference, prepare_subnets, timed_rounds
from ofa_edge.latency.stats import robust_stats
from ofa_edge.space.config import SubnetConfig

FORMAT = "ofa-edge-e2e/2"
GROUP = 20  # subnets timed round-robin
PASSES = 2  # passes over all subnets, minutes apart


def reports_dir(table_path: Path) -> Path:
    """``reports/`` beside a latency table: its end-to-end timings and validation reports."""
    return table_path.parent / "reports"


def e2e_path(table_path: Path) -> Path:
    """The (resumable) store of a table's end-to-end subnet timings."""
    return reports_dir(table_path) / f"{table_path.stem}.e2e.json"


def validation_path(table_path: Path, suffix: str = ".json") -> Path:
    """A table's validation report (``.json``) or its predicted-vs-measured plot (``.png``)."""
    return reports_dir(table_path) / f"{table_path.stem}.validation{suffix}"


def measure_subnets(
    backend: Backend,
    configs: list[SubnetConfig],
    *,
    num_classes: int,
    batch: int,
    warmup: int,
    repeats: int,
    store: Path,
    reference: SpeedReference | None = None,
    passes: int = PASSES,
    on_done: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """End-to-end latency (ms) of each config: the mean over ``passes`` of each pass's median.
    Passes already stored are not re-timed.

    A pass times every subnet in groups of ``GROUP``, round-robin
    (:func:`~ofa_edge.latency.drift.timed_rounds`, against the machine-speed ``reference`` when
    the table was measured with one). The passes lie minutes apart, so slow drifts the
    reference does not catch average out: on x86-cpu one pass re-timed agreed with the first
    within ±10 % for 75 % of 200 subnets, and the LUT prediction was within ±10 % of one pass
    for 89.5–94 % of them, of the mean of two for 97.5 %. When the next pass times the same group
    (every subnet in one group), it reuses that group's sessions instead of exporting them again.
    """
    ref = reference.provenance() if reference else None
    data = {"format": FORMAT, "backend": backend.name, "speed_reference": ref, "entries": {}}
    try:
        old = json.loads(store.read_text()) if store.exists() else {}
    except (json.JSONDecodeError, UnicodeDecodeError):
        old = {}  # unreadable: timed again, like a store from other settings
    same = (FORMAT, backend.name, ref)
    if isinstance(old, dict) and (old.get("format"), old.get("backend"), old.get("speed_reference")) == same:
        data = old
    entries: dict[str, dict] = data["entries"]
    done = sum(min(passes, len(entries.get(c.to_json(), {}).get("passes", []))) for c in configs)
    last: tuple[list[SubnetConfig], list[Timer]] = ([], [])  # the group timed last and its timers
    for p in range(passes):
        todo = [c for c in configs if len(entries.get(c.to_json(), {}).get("passes", [])) <= p]
        for start in range(0, len(todo), GROUP):
            group = todo[start : start + GROUP]
            if group != last[0]:
                last = (group, prepare_subnets(backend, group, num_classes, batch))
            for c, s in zip(group, timed_rounds(last[1], warmup, repeats, reference), strict=True):
                entry = entries.setdefault(c.to_json(), {"passes": []})
                entry["passes"].append(robust_stats(s))
                entry["median"] = float(np.mean([x["median"] for x in entry["passes"]]))
            atomic_write_json(store, data)
            done += len(group)
            if on_done:
                on_done(done, passes * len(configs))
    atomic_write_json(store, data)
    return np.array([entries[c.to_json()]["median"] for c in configs])
