"""End-to-end timing of whole random subnets (for calibration and validation), resumable.

Measurements are kept in ``latency_tables/reports/<table>.e2e.json`` keyed by the subnet's
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
from ofa_edge.latency.blocks import build_subnet
from ofa_edge.latency.stats import robust_stats
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.genome import decode, sample
from ofa_edge.space.search_space import SearchSpace

FORMAT = "ofa-edge-e2e/1"
GROUP = 20  # subnets timed round-robin
ROUNDS = 3


def reports_dir(table_path: Path) -> Path:
    return table_path.parent / "reports"


def e2e_path(table_path: Path) -> Path:
    return reports_dir(table_path) / f"{table_path.stem}.e2e.json"


def random_subnets(space: str, resolutions: list[int], n: int, seed: int) -> list[SubnetConfig]:
    """``n`` uniformly random subnets at the table's resolutions, deterministic in ``seed``."""
    sp = SearchSpace.get(space)
    rng = np.random.default_rng(seed)
    g = sample(sp, n, rng)
    allowed = np.array([sp.resolutions.index(r) for r in sorted(resolutions)], dtype=np.uint8)
    g[:, 0] = allowed[rng.integers(0, len(allowed), n)]
    return decode(sp, g)


def measure_subnets(
    backend: Backend,
    configs: list[SubnetConfig],
    *,
    num_classes: int,
    batch: int,
    warmup: int,
    repeats: int,
    store: Path,
    rounds: int = ROUNDS,
    on_done: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Median end-to-end latency (ms) of each config; already-stored ones are not re-timed.

    Subnets are timed in groups of ``GROUP``: each round times every subnet of the group once
    (``repeats / rounds`` calls), so a burst of load from other jobs lasting a few seconds
    lands in one round of a subnet, not in all its samples; the median pools all rounds.
    """
    data = {"format": FORMAT, "backend": backend.name, "entries": {}}
    if store.exists():
        old = json.loads(store.read_text())
        if old.get("format") == FORMAT and old.get("backend") == backend.name:
            data = old
    entries: dict[str, dict] = data["entries"]
    todo = [c for c in configs if c.to_json() not in entries]
    per_round = -(-repeats // rounds)
    done = len(configs) - len(todo)
    for start in range(0, len(todo), GROUP):
        group = todo[start : start + GROUP]
        timers = [backend.prepare(build_subnet(c, num_classes), (batch, 3, c.resolution, c.resolution)) for c in group]
        samples: list[list[np.ndarray]] = [[] for _ in group]
        for r in range(rounds):
            for i, timer in enumerate(timers):
                samples[i].append(timer(warmup if r == 0 else 1, per_round))
        for c, s in zip(group, samples, strict=True):
            entries[c.to_json()] = robust_stats(np.concatenate(s))
        atomic_write_json(store, data)
        done += len(group)
        if on_done:
            on_done(done, len(configs))
    atomic_write_json(store, data)
    return np.array([entries[c.to_json()]["median"] for c in configs])
