"""SubnetConfig: one subnet of a search space, as a validated, JSON round-trippable value.

Accepts ofa-edge's own JSON and once-for-all's arch dicts (``ks``, ``e``, ``d``, ``r``).
Every validation error names the offending field.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from ofa_edge.errors import ConfigError, UserError
from ofa_edge.io import file_kind
from ofa_edge.space.search_space import MAX_DEPTH, NUM_BLOCKS, NUM_STAGES, SearchSpace

_FIELDS = ("space", "resolution", "depth", "kernel", "expand")
_OFA_FIELDS = ("ks", "e", "d", "r")
_TO_OFA = {"resolution": "r", "depth": "d", "kernel": "ks", "expand": "e"}

SHORT_ID_LEN = 6  # hex digits of SubnetConfig.short_id


@dataclass(frozen=True)
class SubnetConfig:
    """A subnet: resolution, per-stage depth, per-block kernel and expand ratio.

    Values of blocks beyond a stage's depth are ignored by the network but must be valid.
    """

    space: str
    resolution: int
    depth: tuple[int, ...]
    kernel: tuple[int, ...]
    expand: tuple[int, ...]

    def __post_init__(self) -> None:
        # Whole numbers of any kind (numpy integers, 32.0) are stored as Python ints; arrays as tuples;
        # a named SearchSpace as its name.
        if isinstance(self.space, SearchSpace):
            object.__setattr__(self, "space", SearchSpace.get(self.space).name)
        object.__setattr__(self, "resolution", _as_int("resolution", self.resolution))
        for name in ("depth", "kernel", "expand"):
            value = getattr(self, name)
            object.__setattr__(self, name, _as_int_list(name, value.tolist() if hasattr(value, "tolist") else value))
        self.validate()

    # ------------------------------------------------------------ validation
    @property
    def search_space(self) -> SearchSpace:
        """The named :class:`SearchSpace` of this subnet."""
        return SearchSpace.get(self.space)

    def validate(self) -> None:
        """Raise a :class:`ConfigError` naming the field unless every value is allowed by the space."""
        if not isinstance(self.space, str):
            raise ConfigError("space", f"must be a space name (string), got {self.space!r}")
        try:
            space = SearchSpace.get(self.space)
        except UserError as e:
            raise ConfigError("space", str(e)) from None
        _check_value(space, "resolution", "resolution", self.resolution)
        for name, length in (("depth", NUM_STAGES), ("kernel", NUM_BLOCKS), ("expand", NUM_BLOCKS)):
            values = getattr(self, name)
            if len(values) != length:
                raise ConfigError(name, f"expected {length} values, got {len(values)}")
            for i, v in enumerate(values):
                _check_value(space, name, f"{name}[{i}]", v)

    # ---------------------------------------------------------- active view
    def stage_blocks(self, stage: int) -> range:
        """Indices of the blocks this subnet runs in ``stage``."""
        return range(stage * MAX_DEPTH, stage * MAX_DEPTH + self.depth[stage])

    def active_blocks(self) -> list[int]:
        """Indices (0..19) of the blocks this subnet runs."""
        return [b for s in range(NUM_STAGES) for b in self.stage_blocks(s)]

    def canonical(self) -> SubnetConfig:
        """Same network with inactive blocks' genes set to the space minimum (for dedup)."""
        space = self.search_space
        active = set(self.active_blocks())
        kernel = tuple(k if b in active else min(space.kernels) for b, k in enumerate(self.kernel))
        expand = tuple(e if b in active else min(space.expands) for b, e in enumerate(self.expand))
        return SubnetConfig(self.space, self.resolution, self.depth, kernel, expand)

    def describe(self) -> str:
        """Compact one-line display, e.g. ``r32 d43243 k7533|... e6433|...``."""
        stages = []
        for s in range(NUM_STAGES):
            stages.append(",".join(f"k{self.kernel[b]}e{self.expand[b]}" for b in self.stage_blocks(s)))
        return f"r{self.resolution} " + " | ".join(stages)

    def short_id(self) -> str:
        """Six hex digits of the SHA-256 of the canonical subnet's JSON: a stable name for the network
        (subnets that differ only in blocks they do not run share it), e.g. ``3fa9c2``."""
        return hashlib.sha256(self.canonical().to_json().encode()).hexdigest()[:SHORT_ID_LEN]

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """ofa-edge's JSON-ready dict (``space``, ``resolution``, ``depth``, ``kernel``, ``expand``)."""
        return {
            "space": self.space,
            "resolution": self.resolution,
            "depth": list(self.depth),
            "kernel": list(self.kernel),
            "expand": list(self.expand),
        }

    def to_ofa_dict(self) -> dict[str, Any]:
        """once-for-all's arch dict (``ks``, ``e``, ``d``, ``r``)."""
        return {"ks": list(self.kernel), "e": list(self.expand), "d": list(self.depth), "r": [self.resolution]}

    def to_json(self) -> str:
        """The dict of :meth:`to_dict` as one line of JSON."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], space: str | SearchSpace | None = None) -> SubnetConfig:
        """Build from ofa-edge's dict or OFA's arch dict; ``space`` fills a missing space name."""
        if isinstance(space, SearchSpace):
            space = SearchSpace.get(space).name
        if not isinstance(data, Mapping):
            raise ConfigError("subnet", f"expected a JSON object, got {type(data).__name__}")
        if set(data) & {"ks", "e", "d"} and not set(data) & {"kernel", "expand", "depth"}:
            return cls._from_ofa(data, space)
        unknown = sorted(set(data) - set(_FIELDS) - {"meta"})
        if unknown:
            raise ConfigError(unknown[0], f"unknown field; expected {', '.join(_FIELDS)}")
        data = dict(data)
        if "space" not in data and space is not None:
            data["space"] = space
        for name in _FIELDS:
            if name not in data:
                raise ConfigError(name, "missing field")
        if not isinstance(data["space"], str):
            raise ConfigError("space", "must be a string")
        return cls(
            space=data["space"],
            resolution=_as_int("resolution", data["resolution"]),
            depth=_as_int_list("depth", data["depth"]),
            kernel=_as_int_list("kernel", data["kernel"]),
            expand=_as_int_list("expand", data["expand"]),
        )

    @classmethod
    def _from_ofa(cls, data: Mapping[str, Any], space: str | None) -> SubnetConfig:
        unknown = sorted(set(data) - set(_OFA_FIELDS) - {"space", "wid"})
        if unknown:
            raise ConfigError(unknown[0], f"unknown field in an OFA arch dict; expected {', '.join(_OFA_FIELDS)}")
        if data.get("wid") is not None:
            raise ConfigError("wid", "must be null: the width multiplier is fixed per supernet (pick the space)")
        for name in ("ks", "e", "d"):
            if name not in data:
                raise ConfigError(name, "missing field of an OFA arch dict")
        space_name = data.get("space", space or "mbv3-w1.0-imagenet")
        res = data.get("r")
        if res is None:
            try:
                res = max(SearchSpace.get(space_name).resolutions)
            except (UserError, TypeError):
                raise ConfigError(
                    "space", f"unknown search space {space_name!r}; known: {SearchSpace.names()}"
                ) from None
        if isinstance(res, Sequence) and not isinstance(res, str):
            if len(res) != 1:
                raise ConfigError("r", f"expected one resolution, got {len(res)}")
            res = res[0]
        try:
            return cls(
                space=space_name,
                resolution=_as_int("r", res),
                depth=_as_int_list("d", data["d"]),
                kernel=_as_int_list("ks", data["ks"]),
                expand=_as_int_list("e", data["e"]),
            )
        except ConfigError as e:  # name the field as the OFA dict spells it
            head, bracket, rest = e.field.partition("[")
            guessed = (
                f"; an OFA arch dict names no space, so it was read in {space_name}: pass the space, e.g. "
                "SubnetConfig.from_dict(d, space='mbv3-w1.0-cifar') or SubnetConfig.load(path, space=...)"
                if "space" not in data and space is None
                else ""
            )
            raise ConfigError(_TO_OFA.get(head, head) + bracket + rest, e.detail + guessed) from None

    @classmethod
    def from_json(cls, text: str, space: str | SearchSpace | None = None) -> SubnetConfig:
        """Parse JSON text as :meth:`from_dict` reads its dict (for a file, :meth:`load`)."""
        if not isinstance(text, str | bytes | bytearray):
            raise UserError(
                f"from_json takes the JSON text (str), got {type(text).__name__}; for a file use SubnetConfig.load(path)."
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(f"subnet JSON is malformed: {e}.") from None
        return cls.from_dict(data, space)

    @classmethod
    def load(cls, path: str | Path, space: str | SearchSpace | None = None) -> SubnetConfig:
        """Read a subnet JSON file (ofa-edge's format or OFA's arch dict), a search report (``search.json``,
        ``last_search.json``: its chosen subnet), or the subnet.json of a search output folder; ``space`` is
        the space of an OFA arch dict that names none."""
        if not isinstance(path, str | PathLike):
            raise UserError(f"SubnetConfig.load takes a file path (str or Path), got {type(path).__name__}.")
        path = subnet_file(path)
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise UserError(
                f"subnet file '{path}' does not exist; check the path, or pass the subnet.json that `ofa-edge search` "
                "wrote (or its --out folder)."
            ) from None
        except UnicodeDecodeError:
            raise UserError(
                f"'{path}' is not a subnet JSON file (it is binary); pass the subnet.json that `ofa-edge search` wrote."
            ) from None
        except (IsADirectoryError, PermissionError) as e:
            raise UserError(f"cannot read subnet file '{path}': {e}.") from None
        if '"base"' in text and '"preprocessing"' in text:
            with contextlib.suppress(json.JSONDecodeError):
                doc = json.loads(text)
                if isinstance(doc, dict) and isinstance(doc.get("base"), dict) and "preprocessing" in doc:
                    raise UserError(
                        f"'{path}' is a pruned network (the slim.json of `ofa-edge prune`), not a subnet; it goes "
                        f"with --slim (`ofa-edge eval --slim {path}`, `ofa-edge export --slim {path}`); for the "
                        f"unpruned subnet it was pruned from, pass {path.with_name('subnet.json')}."
                    )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise UserError(
                f"subnet file '{path}' is malformed JSON: {e}; pass the "
                "subnet.json that `ofa-edge search` wrote, or fix the file."
            ) from None
        if isinstance(data, dict) and isinstance(data.get("subnet"), dict) and "resolution" not in data:
            data = data["subnet"]  # a search report (search.json, last_search.json): the subnet it chose
        if isinstance(data, dict) and isinstance(data.get("format"), str):  # another ofa-edge file (a latency table)
            raise UserError(
                f"'{path}' is {file_kind(path, data)}, not a subnet; pass the subnet.json that `ofa-edge search` wrote."
            )
        try:
            return cls.from_dict(data, space)
        except ConfigError as e:
            raise ConfigError(e.field, e.detail, f"subnet file '{path}'") from None

    def save(self, path: str | Path) -> None:
        """Write the subnet JSON file (atomically), as ``ofa-edge search`` writes subnet.json."""
        from ofa_edge.io import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


def subnet_file(path: str | Path) -> Path:
    """``path``, or for a folder (an ``ofa-edge search`` output) the ``subnet.json`` in it;
    a :class:`UserError` for a folder without one, or for an ``ofa-edge prune`` output (its slim.json is the
    pruned network, which ``--slim`` takes)."""
    path = Path(path)
    if path.is_dir():
        if (path / "slim.json").is_file():
            raise UserError(
                f"'{path}' is the output folder of `ofa-edge prune`; its pruned network goes with --slim "
                f"(`ofa-edge export --slim {path}`, `ofa-edge eval --slim {path}`); for the unpruned subnet it was "
                f"pruned from, pass {path / 'subnet.json'}."
            )
        if (path / "subnet.json").is_file():
            return path / "subnet.json"
        raise UserError(
            f"subnet '{path}' is a folder; pass the subnet JSON file in it (`ofa-edge search` writes subnet.json)."
        )
    return path


def _check_value(space: SearchSpace, gene: str, field: str, value: int) -> None:
    """A :class:`ConfigError` for ``field`` unless ``value`` (a whole number) is one of ``space``'s for ``gene``."""
    if isinstance(value, bool) or not isinstance(value, int) or value not in space.choices(gene):
        raise ConfigError(field, space.not_in_space(gene, [value]))


def _as_int(name: str, value: Any) -> int:
    """``value`` as an int if it is a whole number (int, numpy integer, 32.0); a :class:`ConfigError` otherwise."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or int(value) != value
    ):
        raise ConfigError(name, f"expected an integer, got {value!r}")
    return int(value)


def _as_int_list(name: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(name, f"expected a list of integers, got {type(value).__name__}")
    return tuple(_as_int(f"{name}[{i}]", v) for i, v in enumerate(value))
