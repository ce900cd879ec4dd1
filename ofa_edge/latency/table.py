"""Latency lookup tables: one JSON file per device, summed per subnet in one vectorized pass."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from types import UnionType
from typing import Any

import numpy as np

from ofa_edge.errors import UserError, option_name
from ofa_edge.io import HeldLock, atomic_write_json, file_kind, hold_lock
from ofa_edge.latency.calibrate import fold_correction
from ofa_edge.latency.devices import (
    find_device_file,
    known_devices,
    load_device,
    profile_command,
    replaces_shipped_device,
    table_dirs_for,
    table_name,
    unknown_device_hint,
)
from ofa_edge.latency.keys import fixed_keys, required_keys
from ofa_edge.paths import SHIPPED_TABLES, devices_dir, find_first, table_dirs
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.cost import CostModel
from ofa_edge.space.genome import BlockSum, to_genomes
from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace

FORMAT = "ofa-edge-latency/1"
STAT_FIELDS = ("count", "mean", "std", "median")
POSITIVE_FIELDS = ("mean", "median")  # latencies; count and std may be 0 (estimated tables)
CORRECTION_TERMS = ("scale", "per_block", "per_mparam", "offset")
# what passes a table in place of a device's: search's field (SearchOptions.tables) and every command's flag
TABLE_OPTION = option_name("tables", "--table")


class DamagedTable(UserError):
    """A table file that cannot be read as it is; the message already names the ``profile --force`` command that
    makes it again."""


def _profile_command(
    path: Path,
    device: str | None = None,
    *,
    space: str | None = None,
    resolutions: list[int] | None = None,
    options: str = "",
) -> str:
    """The ``ofa-edge profile`` command that writes ``path`` (:func:`~ofa_edge.latency.devices.profile_command`)
    for ``device``, else for the device (and space) its name ``<device>[.<space>].json`` names; of ``space`` and at
    ``resolutions`` where given (what a table read from ``path`` says), ``options`` appended. With
    ``--device <device>`` where neither names a known device."""
    named, _, in_name = path.stem.partition(".")
    if space is None:
        space = in_name if device in (None, named) else ""  # a name of your own, not <device>.<space>: its own
    shown = device or "<device>"
    device = device or named
    if path.suffix == ".json" and find_device_file(device) is not None and space in ("", *SearchSpace.names()):
        with contextlib.suppress(UserError):  # a broken device file: the general form below
            dev = load_device(device)
            return f"`{profile_command(dev, path, space or dev.space, resolutions)}{options}`"
    return f"`ofa-edge profile --device {shown} -o {path}{options}`"


def _made_for(provenance: Any) -> str | None:
    """The device a table's provenance names, if it names one (a hand-edited table's may not)."""
    device = provenance.get("device") if isinstance(provenance, dict) else None
    return device if isinstance(device, str) else None


@dataclass
class LatencyTable:
    """Per-block latencies (ms) of one device for one space.

    ``entries`` maps a block key to ``{count, mean, std, median}``; ``provenance`` records the
    device, backend and version, host hardware, date and whether the numbers are ``measured``
    or ``estimated``. ``correction`` is an optional learned map from LUT sum to end-to-end ms.
    """

    space: str
    num_classes: int
    resolutions: list[int]
    provenance: dict[str, Any]
    entries: dict[str, dict[str, float]] = field(default_factory=dict)
    complete: bool = False
    correction: dict[str, Any] | None = None

    # ------------------------------------------------------------------ I/O
    @property
    def search_space(self) -> SearchSpace:
        """The named :class:`SearchSpace` the table was profiled for."""
        return SearchSpace.get(self.space)

    @property
    def device(self) -> str:
        """The device the table was measured (or estimated) for."""
        return str(self.provenance.get("device", "unknown"))

    @property
    def estimated(self) -> bool:
        """Whether the latencies are estimated from datasheet figures, not measured."""
        return self.provenance.get("kind") == "estimated"

    @property
    def kind(self) -> str:
        """``estimated`` or ``measured``, as tables and reports label latencies."""
        return "estimated" if self.estimated else "measured"

    @property
    def status(self) -> str:
        """``measured`` or ``estimated``, ``+ corrected`` with an end-to-end correction, ``, rescaled`` after
        ``profile --rescale`` (what ``devices`` and ``search`` show of a table)."""
        kind = str(self.provenance.get("kind", "measured"))
        return (
            kind
            + (" + corrected" if self.correction else "")
            + (", rescaled" if self.provenance.get("rescaled") else "")
        )

    def missing_keys(self) -> list[str]:
        """Block keys the space needs at the table's resolutions that it lacks (a partial profile's)."""
        return [
            k for k in required_keys(self.search_space, self.resolutions, self.num_classes) if k not in self.entries
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the table file."""
        return {
            "format": FORMAT,
            "space": self.space,
            "num_classes": self.num_classes,
            "resolutions": list(self.resolutions),
            "complete": self.complete,
            "provenance": self.provenance,
            "correction": self.correction,
            "entries": self.entries,
        }

    def save(self, path: str | Path) -> None:
        """Write the table file (atomically)."""
        atomic_write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<table>", *, device: str | None = None) -> LatencyTable:
        """A table from its JSON document; a :class:`UserError` names what is wrong, ``source`` where it came from,
        and the command that makes it again (for ``device``, as in :meth:`load`)."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise _not_a_table(source, data)
        try:
            SearchSpace.get(data["space"])
            table = cls(
                space=data["space"],
                num_classes=_typed(data["num_classes"], int, "num_classes", "an integer"),
                resolutions=[_typed(r, int, "resolutions", "integers") for r in data["resolutions"]],
                provenance=dict(data["provenance"]),
                entries={
                    str(k): {f: float(_typed(v[f], int | float, f"entry '{k}': {f}", "a number")) for f in STAT_FIELDS}
                    for k, v in data["entries"].items()
                },
                complete=_typed(data.get("complete", False), bool, "complete", "true or false"),
                correction=data.get("correction"),
            )
            if table.correction is not None and not isinstance(table.correction, dict):
                raise TypeError(f"correction must be an object, got {type(table.correction).__name__}")
            if table.correction:  # an empty one means none; else predict needs both terms
                lacking = [k for k in ("scale", "offset") if k not in table.correction]
                if lacking:
                    raise KeyError(f"correction lacks {', '.join(lacking)}")
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            remake = _profile_command(Path(source), device or _made_for(data.get("provenance")), options=" --force")
            raise DamagedTable(
                f"latency table '{source}' is corrupt ({type(e).__name__}: {e}); make it again with {remake}."
            ) from None
        if not table.resolutions:
            raise DamagedTable(
                f"latency table '{source}' lists no resolutions, so it predicts nothing; set its 'resolutions' to "
                f"those its entries were timed at, or make it again with "
                f"{_remake_command(table, source, device, ' --force')}."
            )
        outside = sorted(set(table.resolutions) - set(table.search_space.resolutions))
        if outside:
            raise DamagedTable(
                f"latency table '{source}': resolutions {table.search_space.not_in_space('resolution', outside)}; "
                f"fix its 'resolutions' or make it again with {_remake_command(table, source, device, ' --force')}."
            )
        _check_numbers(table, source, device)
        return table

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None, require_complete: bool = True) -> LatencyTable:
        """Read a table; a partial (interrupted) or incomplete one is refused unless asked for. ``device``: the
        device the caller means the table for, which the command that writes a missing table profiles (by
        default, the device its file name names)."""
        if not isinstance(path, str | PathLike):
            raise UserError(f"a latency table path must be a str or Path, got {type(path).__name__} {path!r}.")
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(
                f"latency table '{path}' does not exist; run {_profile_command(path, device)} first."
            ) from None
        except IsADirectoryError:
            raise UserError(
                f"latency table '{path}' is a folder; pass the table's .json file, e.g. x86-cpu.json."
            ) from None
        except PermissionError as e:
            raise UserError(f"cannot read latency table '{path}': {e}.") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            if file_kind(path) is not None:
                raise _not_a_table(str(path), None) from None
            remake = _profile_command(path, device, options=" --force")
            raise DamagedTable(
                f"latency table '{path}' is not valid JSON ({e}); make it again with {remake}."
            ) from None
        table = cls.from_dict(data, str(path), device=device)
        if require_complete:
            table.check_complete(path, device)
        return table

    def check_complete(self, path: Path, device: str | None = None) -> None:
        """Refuse the table read from ``path`` if an interrupted profile left it partial, or it lacks entries
        its space, resolutions and classes need (a :class:`UserError` naming the fix: the command that profiles
        ``device``, else the device the table was made for)."""
        missing = self.missing_keys()
        if missing or not self.complete:
            raise UserError(_incomplete_message(self, path, missing, device))

    # ------------------------------------------------------------ prediction
    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        cached = getattr(self, "_cache", None)
        if cached is not None:
            return cached
        sp = self.search_space
        # A table may cover a subset of the space's resolutions: the others stay NaN.
        shape = (len(sp.resolutions), NUM_BLOCKS, len(sp.kernels), len(sp.expands))
        per_block = np.full(shape, np.nan)
        fixed = np.full(shape[0], np.nan)
        for ri, r in enumerate(sp.resolutions):
            if r not in self.resolutions:
                continue
            try:
                fixed[ri] = sum(self.entries[k]["median"] for k in fixed_keys(sp, r, self.num_classes))
                for b in range(NUM_BLOCKS):
                    for ki, k in enumerate(sp.kernels):
                        for ei, e in enumerate(sp.expands):
                            per_block[ri, b, ki, ei] = self.entries[sp.block_shape(r, b, k, e).key()]["median"]
            except KeyError:
                missing = self.missing_keys()
                raise UserError(
                    f"the latency table for '{self.device}' lacks {len(missing)} of its entries (e.g. '{missing[0]}'), so it "
                    "cannot predict: it is partial (loaded with require_complete=False). Finish it with "
                    f"`ofa-edge profile --device {self.device}`, which resumes where it stopped."
                ) from None
        self._cache = (per_block, fixed)
        return self._cache

    def _genomes(self, configs: Sequence[SubnetConfig] | np.ndarray, check: bool) -> np.ndarray:
        """Configs -> genomes (genomes are checked unless ``check`` is off), with the user's mistakes
        named (:func:`~ofa_edge.space.genome.to_genomes`), and a resolution the table does not cover."""
        sp = self.search_space
        genomes = to_genomes(
            sp,
            configs,
            check=check,
            what="table.predict",
            other_space=f"use a table profiled for '{{space}}' (`ofa-edge profile --device {self.device} --space {{space}}`)",
        )
        if (check or not isinstance(configs, np.ndarray)) and len(self.resolutions) < len(
            sp.resolutions
        ):  # a partial table: uncovered ones are NaN
            asked = {sp.resolutions[i] for i in np.unique(genomes[:, 0])}
            uncovered = sorted(asked - set(self.resolutions))
            if uncovered:
                raise UserError(
                    f"the latency table for '{self.device}' covers resolutions {list(self.resolutions)}, not "
                    f"{uncovered}; pick a subnet at a covered resolution, or profile the others with "
                    f"`ofa-edge profile --device {self.device} --resolutions ...`."
                )
        return genomes

    def predict_lut(self, configs: Sequence[SubnetConfig] | np.ndarray, *, check: bool = True) -> np.ndarray:
        """Sum of per-block medians (ms), one per config; genomes ``(N, 46)`` are accepted too
        (``check=False`` trusts them: for genomes from ``encode``/``sample`` in a hot loop)."""
        genomes = self._genomes(configs, check)
        lut_sum = getattr(self, "_lut_sum", None)
        if lut_sum is None:
            lut_sum = self._lut_sum = BlockSum(self.search_space, *self._arrays())
        return lut_sum(genomes)

    def predict(self, configs: Sequence[SubnetConfig] | np.ndarray, *, check: bool = True) -> np.ndarray:
        """Predicted end-to-end latency (ms): LUT sum, then the learned correction if present
        (``check`` as in :meth:`predict_lut`)."""
        if not self.correction:
            return self.predict_lut(configs, check=check)
        genomes = self._genomes(configs, check)
        c = self.correction
        token = (c["scale"], c.get("per_block", 0.0), c.get("per_mparam", 0.0), c["offset"])
        cached = getattr(self, "_corrected", None)
        if cached is None or cached[0] != token:
            params = CostModel(self.search_space, self.num_classes).param_arrays()
            folded = fold_correction(c, *self._arrays(), *params)
            cached = self._corrected = (token, BlockSum(self.search_space, *folded))
        return cached[1](genomes)


def _not_a_table(source: str, data: Any) -> UserError:
    """The error for a file that is no latency table, naming what it is where :func:`file_kind` can tell."""
    kind = file_kind(Path(source), data)
    what = f"is {kind}, not" if kind else "is not"
    return UserError(
        f"'{source}' {what} an ofa-edge latency table (format {FORMAT!r}); "
        "pass a latency table's .json file, as `ofa-edge profile` writes it (e.g. x86-cpu.json)."
    )


def _remake_command(
    table: LatencyTable, source: str | Path, device: str | None, options: str = "", *, finish: bool = False
) -> str:
    """The ``ofa-edge profile`` command (quoted) that makes ``table``, read from ``source``, again: for ``device``,
    else the device it was made for, ``options`` appended; ``finish``: at its resolutions, as the command that
    finishes a partial table takes them (else the device's own)."""
    return _profile_command(
        Path(source),
        device or _made_for(table.provenance),
        space=table.space,
        resolutions=table.resolutions if finish else None,
        options=options,
    )


def _incomplete_message(table: LatencyTable, path: Path, missing: list[str], device: str | None) -> str:
    """Why a table that lacks ``missing`` (or is marked partial) cannot be used, and the fix: the command that
    profiles it (for ``device``, as in :meth:`LatencyTable.load`)."""
    n = len(missing)
    shown = ", ".join(missing[:5]) + (f" (+{n - 5} more)" if n > 5 else "")
    lacks = f"is missing {n} {'entry' if n == 1 else 'entries'}: {shown}"
    from ofa_edge.latency.blocks import parse_fixed_key  # an error path: it loads torch

    timed = sorted({str(parse_fixed_key(k)[1][1]) for k in table.entries if k.startswith("classifier-")}, key=int)
    if missing and all(k.startswith("classifier-") for k in missing) and timed:
        classes = f" --classes {table.num_classes}"
        return (
            f"latency table '{path}' says num_classes {table.num_classes}, but its classifier entries time "
            f"{' and '.join(timed)} classes, so it {lacks}. Set its num_classes to {timed[0]}, or profile it for "
            f"{table.num_classes} classes ({_remake_command(table, path, device, classes, finish=True)})."
        )
    if missing and table.complete:
        return (
            f"latency table '{path}' is marked complete but {lacks} (its space, resolutions or classes were changed "
            f"after it was profiled, or entries were deleted). Restore them, or re-profile it "
            f"({_remake_command(table, path, device, ' --force')})."
        )
    return (
        f"latency table '{path}' {lacks if missing else 'is marked partial'}. It comes from an interrupted profile: "
        f"run {_remake_command(table, path, device, finish=True)} again (with the options it had) to finish it."
    )


def _typed(value: Any, kind: type | UnionType, field: str, what: str) -> Any:
    """``value`` if JSON gave it the type ``kind`` (``true`` is no number, ``"10"`` and 10.9 no count);
    else a :class:`TypeError` saying ``field`` must be ``what``, which :meth:`LatencyTable.from_dict` reports."""
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TypeError(f"{field} must be {what}, got {value!r}")
    return value


def _check_numbers(table: LatencyTable, source: str, device: str | None) -> None:
    """Refuse entries that are no latency (NaN, infinite, negative; zero mean or median) and a
    correction term that is not a finite number, naming the key, the file and the command that makes the table
    or its correction again (for ``device``, as in :meth:`LatencyTable.load`): a hand-edited table would otherwise
    predict negative or undefined latencies."""
    for key, stats in table.entries.items():
        for f, value in stats.items():
            if not math.isfinite(value) or value < 0 or (value == 0 and f in POSITIVE_FIELDS):
                raise DamagedTable(
                    f"latency table '{source}': entry '{key}' has {f} {value!r}, not a finite number "
                    f"{'> 0' if f in POSITIVE_FIELDS else '>= 0'}; fix it or make the table again with "
                    f"{_remake_command(table, source, device, ' --force')}."
                )
    terms = {k: v for k, v in (table.correction or {}).items() if k in CORRECTION_TERMS}
    bad = {
        k: v for k, v in terms.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
    }
    if bad:
        raise UserError(
            f"latency table '{source}': correction {', '.join(f'{k} {v!r}' for k, v in bad.items())} is not a "
            f"finite number; fix it, or set 'correction' to null and fit it again with "
            f"{_remake_command(table, source, device, ' --calibrate N')}."
        )


def lock_table(path: Path) -> HeldLock:
    """The one-writer lock of the table at ``path`` (``.<name>.lock`` beside it): every ``ofa-edge profile``
    that writes a table (measuring, ``--rescale``, ``--estimate``, a fetch over ``--ssh``) holds it."""
    return hold_lock(
        path.with_name(f".{path.name}.lock"),
        f"another `ofa-edge profile` (process {{pid}}) is writing '{path}'; two at once would overwrite each "
        "other's entries (and two measuring runs time each other's load). Wait for it to finish (or stop it), "
        "or write elsewhere with -o.",
    )


def estimated_warning(provenance: dict[str, Any]) -> str | None:
    """The warning search and export print before relying on an estimated table; ``None`` if measured."""
    if provenance.get("kind") != "estimated":
        return None
    device = provenance.get("device", "this device")
    fit = provenance.get("fit", {})
    err = fit.get("reference_key_mape_pct")
    detail = f" (the model's per-block error on {fit.get('reference_device')} was {err:.0f}% MAPE)" if err else ""
    return (
        f"the latency table for '{device}' is ESTIMATED from datasheet figures, not measured{detail}; "
        f"latencies on the real device may differ a lot. Measure it with `ofa-edge profile --device {device}` "
        f"on the device (or --ssh user@host)."
    )


def searchable_devices() -> list[str]:
    """Devices with a device file or a latency table (yours or shipped): ``<device>.json``, ``<device>.<space>.json``
    and ``profile --force``'s ``<device>.remeasure.json`` name the device before the first dot."""
    return sorted(set(known_devices()) | {p.name.split(".", 1)[0] for d in table_dirs() for p in d.glob("*.json")})


class UnusableTable(UserError):
    """Your table of a device cannot be used (an interrupted profile), and the shipped one, ``stand_in``,
    can stand in for it meanwhile."""

    def __init__(self, message: str, stand_in: Path) -> None:
        super().__init__(message)
        self.stand_in = stand_in


def table_for_device(name: str, space: str | None = None) -> tuple[LatencyTable, Path]:
    """Device ``name``'s table: yours if you profiled it, else the shipped one; unknown devices name the known ones.
    Yours unusable while the shipped one can stand in (an interrupted profile) raises :class:`UnusableTable`.

    ``space`` asks for its table of another search space, ``<name>.<space>.json`` as
    ``ofa-edge profile --device NAME --space SPACE`` writes it; None (or the device's own space, or a device known
    only by its table, with no device file to name its space): ``<name>.json``.
    """
    device_file = find_device_file(name)
    by_space = space is not None and device_file is not None
    file = table_name(load_device(name), SearchSpace.get(space).name) if by_space else f"{name}.json"
    of_space, space_option = (f" of space '{space}'", f" --space {space}") if file != f"{name}.json" else ("", "")
    dirs = table_dirs_for(name)
    path = find_first(dirs, file)
    shipped = SHIPPED_TABLES / file
    replaced = replaces_shipped_device(name)
    if path is not None:
        try:
            return LatencyTable.load(path), path
        except UserError as e:
            if path == shipped or replaced or not shipped.is_file():  # no shipped table stands in
                raise
            raise UnusableTable(
                f"{e} Until then, the shipped table is there to use: {TABLE_OPTION} {shipped}.", shipped
            ) from None
    if device_file is not None:
        why = (
            f" Your device file {device_file} replaces the shipped '{name}', so the shipped table, measured with the "
            "shipped file's settings, is not used for it."
            if replaced
            else ""
        )
        raise UserError(
            f"device '{name}' has no latency table{of_space} (looked in {' and '.join(map(str, dirs))}): run "
            f"`ofa-edge profile --device {name}{space_option}` on (or for) it, "
            f"or pass {TABLE_OPTION} PATH.{why}"
        )
    known = searchable_devices()
    hint = unknown_device_hint(name, known)
    raise UserError(
        f"unknown device '{name}'.{hint} Known devices: {', '.join(known) or '(none)'}; "
        f"`ofa-edge devices` lists them. Pass {TABLE_OPTION} PATH to a latency table, or describe a new device in "
        f"{devices_dir()}/<name>.yaml and measure it with `ofa-edge profile --device <name>`."
    )
