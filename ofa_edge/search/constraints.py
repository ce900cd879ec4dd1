"""Bounds from the command line: ``--latency`` per ``--device`` (or ``--table``), ``--flops``,
``--params``; the latency tables they need; and the check that each bound is achievable.

``--device a --latency 15ms --device b --latency 40ms`` pairs devices and budgets in order;
a device without a budget is only reported. ``--flops`` counts multiply-accumulates, the
convention of once-for-all's "FLOPs" figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ofa_edge.errors import UserError, option_name
from ofa_edge.latency.last_profile import default_device
from ofa_edge.latency.table import TABLE_OPTION, LatencyTable, table_for_device
from ofa_edge.search.problem import Bound, SearchProblem, exact_maximum, exact_minimum
from ofa_edge.units import parse_count, parse_latency_ms

# the options a bound on latency pairs, in order: SearchOptions' fields and search's flags
DEVICE_OPTION = option_name("devices", "--device")
LATENCY_OPTION = option_name("latency")


@dataclass
class DeviceTarget:
    """One device: its latency table and, if given, its budget in ms."""

    name: str
    table: LatencyTable
    table_path: str
    budget_ms: float | None = None

    @property
    def metric(self) -> str:
        return f"latency:{self.name}"


def device_targets(
    devices: list[str], latencies: list[str], tables: list[str], space: str | None = None
) -> tuple[list[DeviceTarget], list[str]]:
    """Pair ``--device``/``--table`` with ``--latency`` in order. Returns targets and the defaults picked.

    ``space`` (the supernet's) picks each device's table of that space (``<device>.<space>.json``, as
    ``profile --space`` writes it, where it is not the device's own); None: each device's own table."""
    picked: list[str] = []
    budgets = [parse_latency_ms(t) for t in latencies]
    if tables:
        if devices and len(devices) != len(tables):
            raise UserError(
                f"{DEVICE_OPTION} gives {_count(devices, 'device')} but {TABLE_OPTION} gives "
                f"{_count(tables, 'table')}: give one table per device, in order."
            )
        loaded = [(_load_table(t, n), t) for t, n in zip(tables, devices or [None] * len(tables), strict=True)]
        for n, (tab, p) in zip(devices, loaded, strict=False):
            made_for = tab.provenance.get("device")
            if made_for is not None and made_for != n:
                raise UserError(
                    f"{TABLE_OPTION} '{p}' was made for device '{made_for}', not {DEVICE_OPTION} '{n}': pair it "
                    f"with {DEVICE_OPTION} {made_for}, or drop {DEVICE_OPTION} (a table names its device)."
                )
        names = devices or [tab.device for tab, _ in loaded]
        targets = [DeviceTarget(n, tab, str(p)) for n, (tab, p) in zip(names, loaded, strict=True)]
    else:
        targets = []
        if not devices:  # `profile --device X` then `search`: X, with the table that profile wrote
            d = default_device()
            usable = d.table is not None and space in (None, d.table.space)  # else its table of `space`, below
            where = f": its table {d.table_path}" if usable else ""
            prefix = "" if d.table else "default: "
            picked.append(f"device: {d.name} ({prefix}{d.why}{where}; pass {DEVICE_OPTION} NAME for another)")
            if usable:
                targets.append(DeviceTarget(d.name, d.table, str(d.table_path)))
            else:
                devices = [d.name]
        for n in devices:
            tab, p = table_for_device(n, space)
            targets.append(DeviceTarget(n, tab, str(p)))
    if len({t.name for t in targets}) != len(targets):
        raise UserError(f"a device is given twice ({', '.join(t.name for t in targets)}); give each device once.")
    if len(budgets) > len(targets):
        raise UserError(
            f"{LATENCY_OPTION} gives {_count(budgets, 'budget')} for {_count(targets, 'device')}: pair each budget "
            f"with a device of {DEVICE_OPTION}, in order (e.g. --device a --latency 15ms --device b --latency 40ms)."
        )
    for t, b in zip(targets, budgets, strict=False):
        t.budget_ms = b
    return targets, picked


def _count(items: list, noun: str) -> str:
    """``1 device``, ``2 devices``: how many ``items`` there are."""
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _load_table(path: str | Path, device: str | None) -> LatencyTable:
    """A ``--table``, paired with ``--device`` ``device`` (None: unpaired). A paired table that is missing or
    unusable names the command that profiles that device, and the device's own table as the other way."""
    try:
        return LatencyTable.load(path, device=device)
    except UserError as e:
        if device is None:
            raise
        raise UserError(f"{e} Or drop {TABLE_OPTION} to search with {device}'s own table.") from None


def cost_bounds(flops: str | None, params: str | None) -> list[Bound]:
    """The ``--flops`` / ``--params`` bounds (counts with units, e.g. ``150M``)."""
    bounds = []
    if flops:
        bounds.append(Bound("macs", parse_count(flops, option_name("flops")), f"--flops {flops}"))
    if params:
        bounds.append(Bound("params", parse_count(params, option_name("params")), f"--params {params}"))
    return bounds


def latency_bounds(targets: list[DeviceTarget]) -> list[Bound]:
    """One bound per device target that has a latency budget."""
    return [Bound(t.metric, t.budget_ms, f"{t.budget_ms:g} ms on {t.name}") for t in targets if t.budget_ms is not None]


def check_achievable(problem: SearchProblem) -> dict[str, float]:
    """Exact minimum of every bounded metric; a bound below it is a :class:`UserError` that
    names the fastest (smallest) achievable value. Sets the problem's repair anchor to the
    minimiser that breaks the fewest bounds. Returns metric -> minimum."""
    minima, anchors = {}, []
    for b in problem.bounds:
        value, genome = exact_minimum(problem.space, problem.metrics[b.metric], problem.resolutions)
        minima[b.metric] = value
        anchors.append(genome)
        if value > b.limit:
            raise UserError(_too_tight(b, value))
    if anchors:
        stack = np.stack(anchors)
        problem.anchor = stack[int(np.argmin(problem.violation(stack)))]
    return minima


def loose_bounds(problem: SearchProblem) -> dict[str, float]:
    """Bounds every subnet meets: metric -> its exact maximum over the space, for each bound at or
    above it. Such a budget does not constrain the search (e.g. 15 ms on a GPU whose slowest
    subnet takes 0.4 ms), which a user should hear rather than infer."""
    loose = {}
    for b in problem.bounds:
        value = exact_maximum(problem.space, problem.metrics[b.metric], problem.resolutions)
        if value <= b.limit:
            loose[b.metric] = value
    return loose


def loose_message(b: Bound, largest: float) -> str:
    """What to tell the user about a bound that does not bind."""
    if b.metric.startswith("latency:"):
        dev = b.metric.split(":", 1)[1]
        return (
            f"the budget {b.limit:g} ms on {dev} does not bind: the slowest subnet takes {largest:.3f} ms by its "
            f"table, so the search returns the most accurate subnet of the whole space. Lower {LATENCY_OPTION} "
            "to trade accuracy for speed."
        )
    return (
        f"{_count_option(b)} {b.limit:,.0f} does not bind: the largest subnet has {largest:,.0f}, so the search returns "
        f"the most accurate subnet of the whole space."
    )


def _count_option(b: Bound) -> str:
    """The option that sets a count bound, as :func:`~ofa_edge.errors.option_name` names it."""
    return option_name("flops" if b.metric == "macs" else "params")


def _too_tight(b: Bound, value: float) -> str:
    if b.metric.startswith("latency:"):
        dev = b.metric.split(":", 1)[1]
        return (
            f"the latency budget {b.limit:g} ms on {dev} is below the fastest achievable subnet "
            f"({value:.3f} ms predicted by its table). Raise {LATENCY_OPTION} to at least {value:.3f}ms."
        )
    option = _count_option(b)
    what = f"{option} (MACs)" if b.metric == "macs" else option
    # a count without a suffix that fits as millions was most likely meant as millions
    meant = (
        f" For millions, give the suffix: {option} {b.limit:g}M." if b.limit < 1e4 and b.limit * 1e6 >= value else ""
    )
    return (
        f"{what} {b.limit:,.0f} is below the smallest achievable subnet ({value:,.0f}). "
        f"Raise {option} to at least {value / 1e6:.2f}M.{meant}"
    )
