"""Machine-speed reference: timings on a host whose speed drifts, put on one scale.

A shared VM runs 10–30 % faster or slower from one second to the next (clock boost, other
tenants on the socket), for every network at once, and the thread-CPU clock does not see
it. Measured here: the same 20 subnets timed in four passes agreed within ±10 % for 72 % of
them; timed against a reference, for 95 %.

The reference is a few fixed random subnets whose baseline latency is measured once, at the
start of a profile, and stored in the table's provenance. Timings are taken in round-robin
rounds, and each round is bracketed by readings of the reference: a round's samples are
divided by the mean of its two readings, i.e. expressed at the baseline's speed. A resumed
profile, its end-to-end calibration and validation, and a later measurement next to a
prediction (``ofa-edge search``) all reuse the stored baseline, so they share one scale.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.host import CPU_FIELDS, host_info, load_average, now_utc
from ofa_edge.latency.backends.base import Backend, Timer
from ofa_edge.latency.blocks import build_subnet, random_subnets
from ofa_edge.latency.devices import LOCAL_DEVICE, Device, load_device, profile_command
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space.config import SubnetConfig

ROUNDS = 4  # rounds per group of timed networks
HOLDS = 0.05  # a table holds while the machine runs within ±5 % of the speed it was measured at
BUSY_LOAD_PER_CORE = 0.5  # a 1-minute load above this per core: other processes take a core, readings wander
SEED = 7_777  # the reference subnets: random, fixed
CALLS = 3  # timed calls per reference subnet and reading
# Untimed calls a network needs after others ran before it times at its steady speed. Measured on
# an Intel Xeon VM (ONNX Runtime, 1 thread): calls 1-8 after switching networks took 1.52, 1.44,
# 1.14, 1.03, 1.03, 1.00, 1.00, 1.00 times the warm latency. With one untimed call, readings ran
# 15 % slow against the (warm) baseline, and a table's numbers, divided by them, came out 13 %
# below the subnets' real latency; --check read 1.13-1.15 against a table measured minutes before
# on the idle machine.
SWITCH_WARMUP = 5
BASELINE_REPEATS = 30
READINGS = 5  # readings a check of the machine's speed takes (about 10 s on x86-cpu)


@dataclass
class SpeedReference:
    """Reads how slow the machine runs right now, relative to a stored baseline (1.0 = baseline)."""

    timers: list[Timer]
    baseline_ms: np.ndarray  # median latency of each reference subnet at the baseline
    readings: list[float] = field(default_factory=list)  # every reading taken, in order

    @classmethod
    def start(
        cls,
        backend: Backend,
        space: str,
        resolutions: list[int],
        num_classes: int,
        batch: int,
        n: int,
        baseline_ms: list[float] | None = None,
        warmup: int = 10,
    ) -> SpeedReference:
        """Prepare the ``n`` reference subnets; measure their baseline unless one is given."""
        timers = _reference_timers(backend, random_subnets(space, resolutions, n, SEED), num_classes, batch)
        if baseline_ms is None:
            baseline_ms = [float(np.median(t(warmup, BASELINE_REPEATS))) for t in timers]
        else:
            if len(baseline_ms) != n:
                raise ValueError(f"baseline has {len(baseline_ms)} values for {n} reference subnets")
            for t in timers:
                t(warmup, 0)
        return cls(timers, np.asarray(baseline_ms, dtype=float))

    @classmethod
    def of_table(cls, backend: Backend, table: LatencyTable, batch: int) -> SpeedReference | None:
        """The reference ``table`` was measured with (``None`` if it was measured without one)."""
        ref = table.provenance.get("speed_reference")
        if not ref:
            return None
        if ref.get("warmup", 1) != SWITCH_WARMUP:  # tables before the field read after one untimed call
            raise UserError(
                f"the {table.device} table's speed reference was read after {ref.get('warmup', 1)} untimed call(s), "
                f"not {SWITCH_WARMUP}: readings that cold ran up to 15 % slow and left its numbers that much low. "
                "Re-profile it (ofa-edge profile --force)."
            )
        baseline = ref["baseline_ms"]
        return cls.start(backend, table.space, table.resolutions, table.num_classes, batch, len(baseline), baseline)

    def provenance(self) -> dict[str, Any]:
        return {
            "subnets": len(self.timers),
            "seed": SEED,
            "calls": CALLS,
            "warmup": SWITCH_WARMUP,
            "baseline_ms": self.baseline_ms.tolist(),
        }

    def reading(self) -> float:
        """Median over the reference subnets of (latency now / baseline latency)."""
        now = [np.median(t(SWITCH_WARMUP, CALLS)) for t in self.timers]
        value = float(np.median(np.asarray(now) / self.baseline_ms))
        self.readings.append(value)
        return value


KEEP_PREPARED = 2  # speed references kept prepared in a process: their sessions hold the subnets' weights
# The reference subnets prepared in this process by their settings, least recently used first (:func:`_reference_timers`).
_PREPARED: dict[tuple, list[Timer]] = {}


def prepare_subnets(backend: Backend, cfgs: list[SubnetConfig], num_classes: int, batch: int) -> list[Timer]:
    """A timer per subnet of ``cfgs`` (built from its shapes, random weights) on ``backend``."""
    return [backend.prepare(build_subnet(c, num_classes), (batch, 3, c.resolution, c.resolution)) for c in cfgs]


def _reference_timers(backend: Backend, cfgs: list[SubnetConfig], num_classes: int, batch: int) -> list[Timer]:
    """Timers of the reference subnets ``cfgs``, prepared once per process and backend settings: a process that
    opens a speed reference again (``check_speed`` before ``rescale``, profiles resumed from Python, in-process CLI
    runs) does not export them again (~0.5 s each). The :data:`KEEP_PREPARED` most recently used are kept."""
    key = (backend.settings(), tuple(cfgs), num_classes, batch)
    timers = _PREPARED.pop(key, None)
    if timers is None:
        while len(_PREPARED) >= KEEP_PREPARED:
            del _PREPARED[next(iter(_PREPARED))]
        timers = prepare_subnets(backend, cfgs, num_classes, batch)
    _PREPARED[key] = timers
    return list(timers)


def is_busy(load: float | None) -> bool:
    """Whether a 1-minute ``load`` average says other processes hold this machine's cores
    (above :data:`BUSY_LOAD_PER_CORE` per core): timings taken now are slower and scattered."""
    return load is not None and load > BUSY_LOAD_PER_CORE * (os.cpu_count() or 1)


def check_speed(backend: Backend, table: LatencyTable, batch: int) -> dict[str, Any]:
    """How fast this machine runs now against the speed ``table`` was measured at.

    ``factor`` is the median of :data:`READINGS` reference readings (1.2: latencies are 20 % above the
    table's scale); ``holds`` is whether it is within :data:`HOLDS` of 1; ``busy`` whether the 1-minute
    load before the readings says other processes held the cores (then checks minutes apart disagree). Raises ``ValueError``
    if the table was measured without a speed reference.
    """
    reference = SpeedReference.of_table(backend, table, batch)
    if reference is None:
        raise ValueError("the table has no speed reference")
    load = load_average()
    values = [reference.reading() for _ in range(READINGS)]
    factor = float(np.median(values))
    busy = is_busy(load)
    return {
        "factor": factor,
        "readings": values,
        "holds": abs(factor - 1) <= HOLDS,
        "tolerance": HOLDS,
        "load_average": load,
        "busy": busy,
    }


HOST_FIELDS = ("host", *CPU_FIELDS, "host_cores", "os")  # where a rescaled table's numbers came from
CORRECTION_MS_TERMS = ("per_block", "per_mparam", "offset")  # the correction terms in ms (``scale`` has no unit)


def same_cpu(provenance: dict[str, Any]) -> bool | None:
    """Whether the table was measured on this machine's CPU: model name, generation (family and
    model) and vector ISA. ``None``: the table records only the model name, and it matched."""
    here = host_info()
    recorded = [f for f in CPU_FIELDS if f in provenance]
    if any(provenance[f] != here[f] for f in recorded):
        return False
    return True if len(recorded) == len(CPU_FIELDS) else None


def _cpu_label(fields: dict[str, Any]) -> str:
    return ", ".join(str(fields[f]) for f in ("host_cpu", "host_cpu_id") if fields.get(f))


def other_cpu_warning(dev: Device, table: LatencyTable, table_path: str | Path, rescaled: bool = False) -> str | None:
    """The warning for a measured ``table`` of ``dev`` (at ``table_path``) that another CPU than this machine's
    measured (:func:`same_cpu` is ``False``); ``None`` otherwise. One speed factor (``--rescale``;
    ``rescaled``: just applied) carries load and clocks, not kernels that run differently on another CPU.
    The commands it advises name the table's path when it is not the device's own."""
    provenance = table.provenance
    if provenance.get("kind") == "estimated":
        return None
    other_cpu = same_cpu(provenance) is False
    origin = None if other_cpu else _rescaled_from_other_cpu(table)
    if not other_cpu and origin is None:
        return None
    device = dev.name
    command = profile_command(dev, table_path, table.space, table.resolutions)
    profile = f"`{command} --force --calibrate 100`, a few minutes"
    if origin is not None:
        return (
            f"the {device} table holds another CPU's block costs ({_cpu_label(origin)}), rescaled to this "
            f"machine's speed, and its end-to-end correction was not fitted here since: refit it "
            f"(`{command} --calibrate 100`), or profile this CPU ({profile})."
        )
    what = (
        f"the {device} table was measured on another CPU ({_cpu_label(provenance)}) than this machine's "
        f"({_cpu_label(host_info())})"
    )
    if rescaled:
        return (
            f"{what}: the factor carries an overall speed difference, not kernels that run differently here. "
            f"Refit the end-to-end correction here (`{command} --calibrate 100`), or profile this CPU ({profile})."
        )
    return (
        f"{what}, so its latencies are that CPU's. Profile this one with its end-to-end correction ({profile}), "
        f"or put the table on this speed and refit its correction here (`{command} --rescale`, then "
        "`--calibrate 100`): `--rescale` alone carries only an overall speed difference, not kernels that run "
        "differently here."
    )


def _rescaled_from_other_cpu(table: LatencyTable) -> dict[str, Any] | None:
    """The CPU fields of the host whose block costs ``table`` holds when a ``--rescale`` since its end-to-end
    correction was last fitted on this CPU brought them from another CPU; ``None`` otherwise."""
    fitted = (table.correction or {}).get("fitted_here") or {}
    since = str(fitted.get("date", "")) if same_cpu(fitted) is True else ""
    for rescaled in reversed(table.provenance.get("rescaled") or []):
        if str(rescaled.get("date", "")) <= since:  # fitted after it (or the same second)
            break
        origin = {k: v for k, v in (rescaled.get("from") or {}).items() if v is not None}
        if same_cpu(origin) is False:
            return origin
    return None


def correction_fitted_elsewhere(table: LatencyTable) -> str | None:
    """The CPU that fitted ``table``'s end-to-end correction when it is not this machine's (its fit error
    is that machine's, e.g. after ``--rescale`` brought the table here); ``None`` when it is, or unknown.
    A correction without ``fitted_here`` was fitted where the table was first measured."""
    if not table.correction:
        return None
    fitted = table.correction.get("fitted_here")
    if not fitted:
        rescaled = table.provenance.get("rescaled") or []
        fitted = (rescaled[0].get("from") if rescaled else None) or table.provenance
    return (_cpu_label(fitted) or "another CPU") if same_cpu(fitted) is False else None


def fitted_elsewhere_note(elsewhere: str | None, here: str) -> str:
    """`` of <CPU>, not <here>``: whose correction it is, when :func:`correction_fitted_elsewhere` named
    another CPU (``elsewhere``); empty when it is this one's."""
    return f" of {elsewhere}, not {here}" if elsewhere else ""


def local_table_warning(device: str, table: LatencyTable, table_path: str | Path) -> str | None:
    """:func:`other_cpu_warning` for the table of ``device`` when that device is this machine
    (:data:`LOCAL_DEVICE`, whose latencies are this CPU's); ``None`` for any other device."""
    if device != LOCAL_DEVICE:
        return None
    return other_cpu_warning(load_device(LOCAL_DEVICE), table, table_path)


def rescale(table: LatencyTable, check: dict[str, Any]) -> LatencyTable:
    """A copy of ``table`` on this machine's speed now, from a :func:`check_speed` result.

    Every latency the table holds (entries, the end-to-end correction's terms, the speed
    reference's baseline) is multiplied by ``check["factor"]``; the host fields become this
    machine's, and ``provenance["rescaled"]`` records the factor, the readings and the host the
    numbers were measured on. One factor keeps the table's relative block costs: it carries
    load, clocks and another host of the same CPU, not a CPU whose kernels differ.
    """
    f = float(check["factor"])
    out = LatencyTable.from_dict(copy.deepcopy(table.to_dict()))
    for stats in out.entries.values():
        for name in ("mean", "std", "median"):
            stats[name] *= f
    if out.correction:
        out.correction = out.correction | {k: out.correction[k] * f for k in CORRECTION_MS_TERMS if k in out.correction}
    prov = out.provenance
    ref = prov["speed_reference"]
    prov["speed_reference"] = ref | {"baseline_ms": [b * f for b in ref["baseline_ms"]]}
    prov.setdefault("rescaled", []).append(
        {
            "date": now_utc(),
            "factor": f,
            "readings": check["readings"],
            "from": {k: prov.get(k) for k in HOST_FIELDS} | {"date": prov.get("date")},
        }
    )
    prov.update(host_info())
    return out


def timed_rounds(
    timers: list[Timer], warmup: int, repeats: int, reference: SpeedReference | None = None, rounds: int = ROUNDS
) -> list[np.ndarray]:
    """Latency samples (ms) of each timer: ``ceil(repeats / rounds)`` calls per round, the
    timers taken round-robin in ``rounds`` rounds (``warmup`` untimed calls before a timer's
    first round, up to :data:`SWITCH_WARMUP` before each later round).

    A burst of load lasting a few seconds lands in one round of a network, not in all its
    samples. With a ``reference``, each round's samples are divided by the mean of the
    readings taken just before and just after it.
    """
    per_round = -(-repeats // rounds)
    samples: list[list[np.ndarray]] = [[] for _ in timers]
    before = reference.reading() if reference else 1.0
    for r in range(rounds):
        raw = [t(warmup if r == 0 else min(warmup, SWITCH_WARMUP), per_round) for t in timers]
        after = reference.reading() if reference else 1.0
        speed = (before + after) / 2
        for s, x in zip(samples, raw, strict=True):
            s.append(np.asarray(x) / speed)
        before = after
    return [np.concatenate(s) for s in samples]
