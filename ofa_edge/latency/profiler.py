"""Measure a device's latency table: every required key, resumable, flushed atomically.

An interrupted profile leaves ``complete: false`` on disk with the entries measured so far;
running the same command again measures only the missing keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import Self

import ofa_edge
from ofa_edge.errors import UserError
from ofa_edge.host import CPU_FIELDS, host_info, load_average, now_utc
from ofa_edge.io import HeldLock
from ofa_edge.latency.backends import Backend
from ofa_edge.latency.blocks import build_for_key, random_subnets
from ofa_edge.latency.calibrate import CALIBRATE_SEED_OFFSET, calibrate_table
from ofa_edge.latency.devices import Device, as_device, find_table_path, table_path
from ofa_edge.latency.drift import SpeedReference, timed_rounds
from ofa_edge.latency.e2e import e2e_path, measure_subnets
from ofa_edge.latency.keys import required_keys
from ofa_edge.latency.stats import robust_stats
from ofa_edge.latency.table import DamagedTable, LatencyTable, lock_table
from ofa_edge.latency.validate import validation_report
from ofa_edge.space.search_space import SearchSpace

GROUP = 16  # keys timed round-robin, and saved together
# Provenance fields that must match for a table to be continued (or reused): a table measured
# on another machine is never mixed with, or taken for, this machine's numbers.
MACHINE_FIELDS = ("host", *CPU_FIELDS, "accelerator")
RESUME_FIELDS = ("device", "kind", "backend", "precision", "threads", "batch", *MACHINE_FIELDS)
# How entries are timed: a partial table is only continued with the same, or its entries would mix
# settings its provenance does not show (a complete one is reopened to calibrate with any).
TIMING_FIELDS = ("warmup", "repeats")


def provenance(device: Device, backend: Backend, threads: int, **extra: Any) -> dict[str, Any]:
    """A measured table's provenance: device, runtime and its version, settings, host, date."""
    return {
        "device": device.name,
        "kind": "measured",
        "backend": backend.name,
        "backend_version": backend.version(),
        "runtime": device.runtime,
        "provider": device.provider,
        "precision": device.precision,
        "threads": threads,
        "batch": device.batch,
        **host_info(),
        "accelerator": backend.accelerator(),
        "date": now_utc(),
        "ofa_edge_version": ofa_edge.__version__,
        "clock": backend.clock_name,
        "statistic": "median of repeats (taken in rounds; at the speed_reference's baseline speed when it has one); "
        "mean/std after dropping samples beyond 5 scaled MADs",
        **extra,
    }


def _differences(old: LatencyTable, fresh: LatencyTable) -> tuple[list[str], list[str]]:
    """The provenance fields in which ``old`` was made otherwise than ``fresh`` would be, and a line per
    difference (space, resolutions and classes included)."""
    fields = RESUME_FIELDS if old.complete else (*RESUME_FIELDS, *TIMING_FIELDS)
    differ = [f for f in fields if old.provenance.get(f) != fresh.provenance.get(f)]
    lines = [f"{f}: {old.provenance.get(f)!r} on disk vs {fresh.provenance.get(f)!r} now" for f in differ]
    if (old.space, old.resolutions, old.num_classes) != (fresh.space, fresh.resolutions, fresh.num_classes):
        lines.append(
            f"space/resolutions/classes: {old.space} {old.resolutions} {old.num_classes} on disk "
            f"vs {fresh.space} {fresh.resolutions} {fresh.num_classes} now"
        )
    return differ, lines


@dataclass(frozen=True)
class ShippedTable:
    """A shipped measured table that profile may continue into yours: its file and its contents, read once."""

    path: Path
    table: LatencyTable


def shipped_differences(shipped: ShippedTable, fresh: LatencyTable) -> list[str]:
    """Why the ``shipped`` table is not continued into yours: a line per setting it was made otherwise than
    ``fresh`` (this machine's, these settings) would be."""
    return _differences(shipped.table, fresh)[1]


def _resumption(old: LatencyTable, fresh: LatencyTable) -> tuple[list[str], list[str]]:
    """The provenance fields ``old`` was made otherwise than ``fresh`` would be and a line per difference
    (:func:`_differences`); none: it goes on being filled, and its provenance records the resumption."""
    differ, mismatch = _differences(old, fresh)
    if not mismatch:
        old.provenance.setdefault("resumed", []).append(now_utc())
    return differ, mismatch


def start_or_resume(path: Path, fresh: LatencyTable, force: bool, shipped: ShippedTable | None = None) -> LatencyTable:
    """The table to fill: the partial one at ``path`` if it matches ``fresh``'s settings (another one is
    refused), else ``fresh``. With no table at ``path``, a ``shipped`` one is continued when it matches
    (it was measured here, with these settings) and otherwise left for a fresh table."""
    if force or not (path.exists() or shipped is not None):
        return fresh
    if shipped is not None and not path.exists():
        return shipped.table if not _resumption(shipped.table, fresh)[1] else fresh
    try:
        old = LatencyTable.load(path, device=fresh.provenance.get("device"), require_complete=False)
    except DamagedTable:
        raise  # it names its --force command already
    except UserError as e:
        raise UserError(f"{e} To replace it, run again with --force (or write elsewhere with --output).") from None
    differ, mismatch = _resumption(old, fresh)
    if not mismatch:
        return old
    # A complete table that differs only in the machine can be made this machine's in 10 s.
    adopt = (
        old.complete
        and old.provenance.get("speed_reference")
        and len(mismatch) == len(differ)
        and set(differ) <= set(MACHINE_FIELDS) - {"accelerator"}
    )
    # A partial table that differs only in options given on the command line goes on with its own.
    own = (
        f" To continue it, give its settings: {' '.join(f'--{f} {old.provenance.get(f)}' for f in differ)}."
        if len(mismatch) == len(differ) and set(differ) <= {"threads", *TIMING_FIELDS}
        else ""
    )
    raise UserError(
        f"'{path}' holds a table made with other settings ({'; '.join(mismatch)}).{own} "
        "Pass --force to re-measure it from scratch, or --output to write elsewhere."
        + (
            f" Or put it on this machine's speed first (`ofa-edge profile --device {fresh.provenance.get('device')} "
            f"-o {path} --rescale`, 10 s), then calibrate or validate it here."
            if adopt
            else ""
        )
    )


def speed_reference(device: Device, backend: Backend, table: LatencyTable) -> SpeedReference | None:
    """The table's machine-speed reference: the one it was measured with (its provenance), else a
    new one if the device asks for it (``speed_reference: N`` subnets), recorded in the provenance."""
    reference = SpeedReference.of_table(backend, table, device.batch)
    if reference is None and device.speed_reference:
        sp = (table.space, table.resolutions, table.num_classes, device.batch)
        reference = SpeedReference.start(backend, *sp, device.speed_reference)
        table.provenance["speed_reference"] = reference.provenance()
    return reference


@dataclass
class Profiling:
    """A table being measured at ``path`` (new, or resumed from disk) and the speed reference its
    timings are put on; :meth:`fill` measures what is missing, with ``warmup`` untimed and ``repeats`` timed
    runs of each network (those :func:`start_profile` took). It holds the table's lock until
    :meth:`close` (a ``with`` block closes it)."""

    device: Device
    backend: Backend
    path: Path
    table: LatencyTable
    reference: SpeedReference | None
    warmup: int
    repeats: int
    continued: Path | None = None  # the shipped table this one continues (you had none of this device)
    staging: Path | None = None  # --force over a table: measured here, moved onto ``path`` once complete
    restarted: str | None = None  # why a cut-off --force run's entries in ``staging`` were not continued
    lock: HeldLock | None = field(default=None, repr=False)  # held while this process writes ``path``

    def close(self) -> None:
        """Let another profile write ``path`` (the lock is also let go when this process ends)."""
        if self.lock is not None:
            self.lock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def fill(
        self,
        max_entries: int | None = None,
        on_entry: Callable[[int, int, str], None] | None = None,
    ) -> LatencyTable:
        """Measure every missing key (at most ``max_entries`` new ones; the table then stays
        partial) and save it. ``on_entry(done, total, key)`` reports progress (``key`` empty at the start)."""
        table, sp = self.table, SearchSpace.get(self.table.space)
        keys = required_keys(sp, table.resolutions, table.num_classes)
        todo = [k for k in keys if k not in table.entries]
        done = len(keys) - len(todo)
        if max_entries is not None:
            todo = todo[:max_entries]
        if on_entry:
            on_entry(done, len(keys), "")  # where a resumed (or already complete) table starts
        for start in range(0, len(todo), GROUP):
            group = todo[start : start + GROUP]
            batch = self.device.batch
            timers = [self.backend.prepare(module, (batch, *shape)) for module, shape in map(build_for_key, group)]
            for key, samples in zip(
                group, timed_rounds(timers, self.warmup, self.repeats, self.reference), strict=True
            ):
                table.entries[key] = robust_stats(samples)
                done += 1
                if on_entry:
                    on_entry(done, len(keys), key)
            table.save(self.staging or self.path)
        table.complete = not table.missing_keys()
        if table.complete and todo:  # finished now, not when a complete table is reopened to calibrate
            table.provenance["load_avg_end"] = load_average()
            table.provenance["finished"] = now_utc()
        table.save(self.staging or self.path)
        if table.complete and self.staging is not None:  # the re-measured table replaces the old one only now
            self.staging.replace(self.path)
            e2e_path(self.path).unlink(missing_ok=True)  # the old table's end-to-end timings
            self.staging = None
        return table

    def calibrate_and_validate(
        self,
        calibrate: int,
        validate: int,
        seed: int,
        on_done: Callable[[int], None] | None = None,
    ) -> dict[str, Any] | None:
        """Time ``calibrate`` and ``validate`` random subnets end to end in one interleaved pass (both see the
        same host conditions), fit and save the table's correction on the first, and return the validation
        report of the second (``None`` without ``validate``)."""
        table = self.table
        cal = random_subnets(table.space, table.resolutions, calibrate, seed + CALIBRATE_SEED_OFFSET)
        val = random_subnets(table.space, table.resolutions, validate, seed)
        both = interleave(cal, val)
        timed = measure_subnets(  # resumable: kept beside the table; on the speed reference's scale
            self.backend,
            both,
            num_classes=table.num_classes,
            batch=self.device.batch,
            warmup=self.warmup,
            repeats=self.repeats,
            store=e2e_path(self.path),
            reference=self.reference,
            on_done=None if on_done is None else lambda i, _: on_done(i),
        )
        ms = dict(zip((c.to_json() for c in both), timed, strict=True))
        if cal:
            calibrate_table(table, cal, np.array([ms[c.to_json()] for c in cal]))
            table.save(self.path)
        if not val:
            return None
        measured = np.array([ms[c.to_json()] for c in val])
        return validation_report(table, val, measured, seed, warmup=self.warmup, repeats=self.repeats)


def interleave(a: list, b: list) -> list:
    """Merge two lists evenly (a0 b0 a1 b1 ... in proportion to their lengths)."""
    tagged = [(i / len(a), 0, x) for i, x in enumerate(a)] + [(i / len(b), 1, x) for i, x in enumerate(b)]
    return [x for *_, x in sorted(tagged, key=lambda t: t[:2])]


def shipped_to_continue(device: Device | str | Path, space: str | None = None) -> ShippedTable | None:
    """The shipped measured table of ``device`` (and ``space``, else the device's) that a profile into your own
    table (:func:`~ofa_edge.latency.devices.table_path`) goes on from while you have none; ``None``: you have one,
    or the shipped one is estimated (nothing measured to continue) or absent."""
    device = as_device(device)
    found = find_table_path(device, space)
    if found == table_path(device, space) or not found.is_file():
        return None
    table = LatencyTable.load(found, require_complete=False)
    return None if table.estimated else ShippedTable(found, table)


def start_profile(
    device: Device | str | Path,
    backend: Backend,
    path: Path | str,
    *,
    space: str | None = None,
    resolutions: list[int] | None = None,
    num_classes: int | None = None,
    warmup: int | None = None,
    repeats: int | None = None,
    threads: int | None = None,
    force: bool = False,
    shipped: ShippedTable | None = None,
) -> Profiling:
    """Open the table to measure into ``path``: the partial one there if it was made with these settings on
    this machine (another machine's is refused), else the ``shipped`` one (:func:`shipped_to_continue`) if it
    was, else a new one (``force``: always). ``Profiling.continued`` says whether the shipped one was taken.
    The settings left out are the device's (``num_classes``: the space's default); ``device`` may be a name."""
    device = as_device(device)
    space = space or device.space
    warmup = device.warmup if warmup is None else warmup
    repeats = device.repeats if repeats is None else repeats
    fresh = LatencyTable(
        space=space,
        num_classes=num_classes or SearchSpace.get(space).default_num_classes,
        resolutions=sorted(resolutions or device.resolutions),
        provenance=provenance(
            device,
            backend,
            device.threads if threads is None else threads,
            warmup=warmup,
            repeats=repeats,
            load_avg_start=load_average(),
        ),
    )
    path = Path(path)
    lock = lock_table(path)
    try:
        table, staging, restarted = _open_table(path, fresh, force, shipped)
        continued = shipped.path if shipped is not None and table is shipped.table else None
        reference = speed_reference(device, backend, table)
    except BaseException:  # refused (or interrupted) before it began: let the next run in now
        lock.release()
        raise
    return Profiling(device, backend, path, table, reference, warmup, repeats, continued, staging, restarted, lock)


def _open_table(
    path: Path, fresh: LatencyTable, force: bool, shipped: ShippedTable | None
) -> tuple[LatencyTable, Path | None, str | None]:
    """(the table to fill, where it is saved until complete: ``None`` for ``path`` itself, why a cut-off
    earlier ``force`` run was not continued). With ``force`` over an existing table, the new one is measured
    beside it (:func:`remeasure_path`), going on from a cut-off earlier ``force`` run made with the same
    settings, and the table at ``path`` stays until the new one is complete."""
    if not (force and path.exists()):
        if force:
            e2e_path(path).unlink(missing_ok=True)
        return start_or_resume(path, fresh, force, shipped), None, None
    staging = remeasure_path(path)
    if not staging.exists():
        return fresh, staging, None
    try:
        cut_off = LatencyTable.load(staging, require_complete=False)
    except UserError:
        return fresh, staging, "it cannot be read"
    if mismatch := _resumption(cut_off, fresh)[1]:
        return fresh, staging, f"made with other settings: {'; '.join(mismatch)}"
    return cut_off, staging, None


def remeasure_path(path: Path) -> Path:
    """Where ``profile --force`` measures a table that replaces the one at ``path`` when it is complete."""
    return path.with_name(f"{path.stem}.remeasure.json")
