"""Device descriptions: ``<name>.yaml`` (yours, then the shipped ``ofa_edge/devices/``) -> a validated,
frozen :class:`Device`.

A device names how latency is measured on it (runtime, execution provider, precision,
threads, batch, warm-up and repeats), which space and resolutions its table covers, and
datasheet figures (peak FLOP/s at that precision, memory bandwidth, their source) that
:mod:`ofa_edge.latency.estimate` uses when the device cannot be reached.
"""

from __future__ import annotations

import math
import platform
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from ofa_edge.errors import UserError, did_you_mean
from ofa_edge.paths import (
    SHIPPED_DEVICES,
    device_dirs,
    find_first,
    is_shipped_table,
    latency_tables_dir,
    table_dirs,
)
from ofa_edge.space.search_space import SearchSpace, listed

RUNTIMES = ("onnxruntime", "torch", "tensorrt")
PROVIDERS = ("cpu", "xnnpack", "cuda", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")
CLOCKS = ("wall", "thread_cpu")
FIELDS = (
    "name", "description", "runtime", "provider", "precision", "threads", "batch", "space", "resolutions",
    "warmup", "repeats", "datasheet", "cuda_graphs", "clock", "layer_overhead_us", "speed_reference",
    "accelerator", "arch",
)  # fmt: skip
DATASHEET_FIELDS = ("peak_flops", "memory_bandwidth", "source")
# ``platform.machine()`` spellings of one architecture (macOS says arm64, Windows AMD64).
ARCH_ALIASES = {"arm64": "aarch64", "amd64": "x86_64", "x64": "x86_64"}


# The device that is the x86 machine running the command: search measures its chosen subnet here,
# quickstart and prune default to it, and its table is checked against this CPU.
LOCAL_DEVICE = "x86-cpu"


def normalize_arch(name: str) -> str:
    """One spelling per CPU architecture: ``arm64`` -> ``aarch64``, ``AMD64`` -> ``x86_64``."""
    name = name.strip().lower()
    return ARCH_ALIASES.get(name, name)


def host_arch() -> str:
    """This machine's CPU architecture (:func:`normalize_arch` of ``platform.machine()``)."""
    return normalize_arch(platform.machine())


@dataclass(frozen=True)
class Datasheet:
    """Vendor figures for the precision the device runs at."""

    peak_flops: float  # FLOP/s (2 per multiply-accumulate)
    memory_bandwidth: float  # bytes/s
    source: str


@dataclass(frozen=True)
class Device:
    """One target device and how to time networks on it."""

    name: str
    description: str
    runtime: str
    provider: str | None
    precision: str
    threads: int
    batch: int
    space: str
    resolutions: tuple[int, ...]
    warmup: int
    repeats: int
    datasheet: Datasheet
    cuda_graphs: bool = False
    clock: str = "wall"  # thread_cpu: CPU time of the (single) inference thread, for hosts shared with other jobs
    layer_overhead_us: float | None = None  # per-layer launch cost for estimates (None: fitted on the host CPU)
    speed_reference: int = 0  # reference subnets that track the host's speed drift (0: none), see latency/drift.py
    accelerator: str | None = None  # part of the GPU's name (e.g. "H100") that a machine timing this device must show
    arch: str | None = None  # CPU architecture of the host it runs on (e.g. "aarch64"); None: any

    def arch_mismatch(self, found: str) -> str | None:
        """Why a machine of architecture ``found`` cannot time this device; ``None`` when it can
        (or the device names no architecture)."""
        if self.arch is None or normalize_arch(found) == self.arch:
            return None
        return (
            f"{self.name} runs on {self.arch} but this machine is {normalize_arch(found)}: profile it with "
            "--ssh user@host, run ofa-edge on the device, or --estimate."
        )

    def accelerator_mismatch(self, found: str | None) -> str | None:
        """Why the accelerator ``found`` here is not this device's; ``None`` when it is, when the device
        names none, or when the machine's cannot be read (``found`` is ``None``)."""
        if self.accelerator is None or found is None:
            return None
        word = rf"(?<![A-Za-z0-9]){re.escape(self.accelerator)}(?![A-Za-z0-9])"  # a GH200 is not an H200
        if re.search(word, found, re.IGNORECASE):
            return None
        return f"device '{self.name}' is an {self.accelerator} GPU, and this machine's is an {found}"

    @property
    def backend_name(self) -> str:
        """The measurement backend: ``onnxruntime-cpu``, ``torch-cuda-graphs``, ``tensorrt``..."""
        if self.runtime == "onnxruntime":
            return f"onnxruntime-{self.provider}"
        if self.runtime == "torch":
            return "torch-cuda-graphs" if self.cuda_graphs else "torch-eager-cuda"  # TorchBackend's name
        return "tensorrt"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resolutions"] = list(self.resolutions)
        return d

    def to_yaml(self) -> str:
        """The device as the text of a device file (:func:`device_from_text` reads it back; ``--ssh`` sends it)."""
        return yaml.safe_dump({k: v for k, v in self.to_dict().items() if v is not None}, sort_keys=False)


def known_devices() -> list[str]:
    """Names of every device file, yours and the shipped ones."""
    return sorted({p.stem for d in device_dirs() for p in d.glob("*.yaml") if p.is_file()})


def find_device_file(name: str) -> Path | None:
    """``<name>.yaml`` in your devices folder, else among the shipped ones; ``None`` when neither has it."""
    return find_first(device_dirs(), f"{name}.yaml")


def unknown_device_hint(name: str, known: list[str], cutoff: float = 0.6) -> str:
    """The sentence after "unknown device 'NAME'.": for a torch device name (cpu, cuda, cuda:N, mps,
    auto, gpu), that ``--device`` here names a latency device (train and eval's takes those);
    else the nearest known name, if one is close; else ``''``."""
    if name.lower() in ("cpu", "cuda", "mps", "auto", "gpu") or name.lower().startswith("cuda:"):
        return (
            f" '{name}' is where a network runs (train and eval's --device); here --device names the latency "
            "device to predict for, e.g. x86-cpu for an x86 CPU or h100 for an H100 GPU."
        )
    return did_you_mean(name, known, cutoff)


def is_device_path(name_or_path: str | Path) -> bool:
    """Whether ``--device`` names a YAML file (a suffix or a folder in it) rather than a shipped device."""
    return Path(name_or_path).suffix in (".yaml", ".yml") or any(sep in str(name_or_path) for sep in ("/", "\\"))


def load_device(name_or_path: str | Path) -> Device:
    """Load a device by name (``<name>.yaml``, yours before the shipped one) or by path to a YAML file.

    Unknown names raise a :class:`UserError` listing the known devices and the nearest name.
    """
    path = Path(name_or_path)
    folders = " and ".join(str(d) for d in device_dirs())
    if is_device_path(name_or_path):
        if not path.exists():
            raise UserError(
                f"device file '{name_or_path}' does not exist; check the path, or name a known device "
                f"({', '.join(known_devices()) or 'none'}, from {folders})."
            )
        if not path.is_file():
            raise UserError(f"device file '{name_or_path}' is not a file; pass a <name>.yaml device file.")
    else:
        found = find_device_file(str(name_or_path))
        if found is None:
            known = known_devices()
            hint = unknown_device_hint(str(name_or_path), known, cutoff=0.5)
            raise UserError(
                f"unknown device '{name_or_path}'.{hint} Known devices: {', '.join(known) or '(none)'} "
                f"(from {folders}); add a <name>.yaml to {device_dirs()[0]} to describe a new one."
            )
        path = found
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise UserError(f"device file '{path}' is not a text (YAML) file.") from None
    dev = parse_device(_yaml(text, str(path)), path.stem, str(path))
    if dev.name != path.stem and not is_device_path(name_or_path):
        raise UserError(
            f"device file '{path}' says `name: {dev.name}`, but devices are found by file name ('{path.stem}') "
            f"and their tables by `name:`, so the two must agree: set `name: {path.stem}` in it, or rename the "
            f"file to {dev.name}.yaml."
        )
    return dev


def as_device(device: Device | str | Path) -> Device:
    """``device`` itself, or the device a name or YAML file names (:func:`load_device`), as ``--device`` takes it."""
    return device if isinstance(device, Device) else load_device(device)


def device_from_text(text: str, source: str = "<stdin>") -> Device:
    """A device from the text of its YAML file (``profile --device -`` reads it from stdin: ``--ssh`` sends the
    device file that way, since a device of yours is unknown on the remote machine); it must say its ``name``."""
    data = _yaml(text, source)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UserError(f"device file '{source}' must say its `name:` (it has no file name to take it from).")
    return parse_device(data, data["name"], source)


def _yaml(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise UserError(
            f"device file '{source}' is not valid YAML ({where}{getattr(e, 'problem', None) or 'unreadable'}); fix it there."
        ) from None


def _get(data: dict[str, Any], key: str, kind: type, source: str, default: Any = ...) -> Any:
    if key not in data:
        if default is ...:
            raise UserError(f"device file '{source}': missing field '{key}'.")
        return default
    value = data[key]
    if kind is float and not isinstance(value, bool):
        try:  # YAML 1.1 reads "1e13" (no dot) as a string
            return float(value)
        except (TypeError, ValueError):
            pass
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise UserError(f"device file '{source}': field '{key}' must be {kind.__name__}, got {value!r}.")
    return value


# Datasheet figures: their unit, the least any device this toolkit targets has (a microcontroller is not one),
# and an example. A figure below it was written in another unit (18 for 18 GB/s).
_FIGURES = {
    "peak_flops": ("FLOP/s", 1e9, "380G (or 380e9) for 380 GFLOP/s"),
    "memory_bandwidth": ("bytes/s", 1e8, "18G (or 18e9) for 18 GB/s"),
}
_SUFFIX = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def _datasheet_figure(ds: dict[str, Any], key: str, source: str) -> float:
    """A datasheet figure in its unit (``_FIGURES``): a number, or one with a k/M/G/T suffix; refused when it
    is implausibly low for any target (a figure written in GFLOP/s or GB/s)."""
    unit, least, example = _FIGURES[key]
    raw = _get(ds, key, str if isinstance(ds.get(key), str) else float, f"{source}: datasheet")
    m = re.fullmatch(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([kKMGT]?)\s*", raw) if isinstance(raw, str) else None
    try:
        value = float(m.group(1)) * _SUFFIX[m.group(2)] if m else float(raw)  # "nan" and "inf" too: refused below
    except ValueError:
        raise UserError(
            f"device file '{source}': datasheet {key} '{raw}' is not a number in {unit}; write e.g. {example}."
        ) from None
    _positive(value, f"datasheet {key}", source)
    if value < least:
        raise UserError(
            f"device file '{source}': datasheet {key} {value:g} {unit} is below any device this toolkit targets "
            f"({least:g} {unit}); it is in {unit}, so write e.g. {example}."
        )
    return value


def _device_name(name: str, source: str) -> str:
    """``name`` if it can name files (its table is ``<name>.json``): letters, digits, ``_``, ``-`` and inner dots."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*", name):
        raise UserError(
            f"device file '{source}': name '{name}' cannot name its table file; use letters, digits, '_' and '-' "
            "(e.g. my-board)."
        )
    return name


def _refuse_unknown(data: dict[str, Any], known: tuple[str, ...], where: str, source: str) -> None:
    """A :class:`UserError` naming the first field of ``data`` not in ``known`` (a typo would be ignored)."""
    for key in data:
        if key not in known:
            hint = did_you_mean(str(key), known)
            raise UserError(
                f"device file '{source}': unknown {where}field '{key}'.{hint} Known {where}fields: "
                f"{', '.join(known)} (`ofa-edge docs latency` describes each); fix or remove it."
            )


def _positive(value: float, key: str, source: str, zero_ok: bool = False) -> float:
    """``value`` if it is a finite number above zero (``zero_ok``: at least zero), else a :class:`UserError`."""
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        raise UserError(
            f"device file '{source}': {key} must be a finite number {'>= 0' if zero_ok else '> 0'}, got {value!r}."
        )
    return value


def _choice(value: Any, allowed: tuple[str, ...], key: str, source: str) -> str:
    if value not in allowed:
        raise UserError(f"device file '{source}': {key} {value!r} is not one of {', '.join(allowed)}.")
    return value


def _resolutions(data: dict[str, Any], sp: SearchSpace, source: str) -> tuple[int, ...]:
    """The device's ``resolutions``: integers of space ``sp`` (default: all of them), at least one."""
    resolutions = tuple(_get(data, "resolutions", list, source, list(sp.resolutions)))
    if typed := [r for r in resolutions if not isinstance(r, int) or isinstance(r, bool)]:
        raise UserError(
            f"device file '{source}': resolutions must be integers, unquoted (e.g. [{listed(sp.resolutions)}]); got "
            f"{', '.join(f'{r!r} ({type(r).__name__})' for r in typed)}."
        )
    if bad := [r for r in resolutions if r not in sp.resolutions]:
        raise UserError(f"device file '{source}': resolutions {sp.not_in_space('resolution', bad)}.")
    if not resolutions:
        raise UserError(
            f"device file '{source}': resolutions is empty; list some of space {sp.name}'s "
            f"({listed(sp.resolutions)}), or leave it out for all of them."
        )
    return resolutions


def parse_device(data: Any, name: str, source: str = "<device>") -> Device:
    """Validate a device mapping; every problem names the field."""
    if not isinstance(data, dict):
        raise UserError(f"device file '{source}' must hold a mapping of fields, got {type(data).__name__}.")
    _refuse_unknown(data, FIELDS, "", source)
    runtime = _choice(_get(data, "runtime", str, source), RUNTIMES, "runtime", source)
    provider = data.get("provider")
    if runtime == "onnxruntime":
        provider = _choice(provider, PROVIDERS, "provider", source)
    elif provider is not None:
        raise UserError(f"device file '{source}': 'provider' applies to runtime onnxruntime only.")
    space = _get(data, "space", str, source)
    try:
        sp = SearchSpace.get(space)
    except UserError as e:
        raise UserError(f"device file '{source}': {e}") from None
    resolutions = _resolutions(data, sp, source)
    ds = _get(data, "datasheet", dict, source)
    _refuse_unknown(ds, DATASHEET_FIELDS, "datasheet ", source)
    figures = {k: _datasheet_figure(ds, k, source) for k in ("peak_flops", "memory_bandwidth")}
    datasheet = Datasheet(**figures, source=_get(ds, "source", str, f"{source}: datasheet"))
    ints = {
        k: _get(data, k, int, source, d) for k, d in (("threads", 1), ("batch", 1), ("warmup", 20), ("repeats", 100))
    }
    for k, v in ints.items():
        if v < (0 if k == "warmup" else 1):
            raise UserError(f"device file '{source}': {k} must be positive, got {v}.")
    overhead = _get(data, "layer_overhead_us", float, source, None)
    if overhead is not None:
        _positive(overhead, "layer_overhead_us", source, zero_ok=True)
    arch = _get(data, "arch", str, source, None)
    if arch is not None and not arch.strip():
        raise UserError(f"device file '{source}': arch must name an architecture (e.g. aarch64, x86_64) or be omitted.")
    reference = _get(data, "speed_reference", int, source, 0)
    if reference < 0:
        raise UserError(
            f"device file '{source}': speed_reference must be 0 (none) or a number of subnets, got {reference}."
        )
    if data.get("clock") == "thread_cpu" and (runtime != "onnxruntime" or ints["threads"] != 1):
        raise UserError(f"device file '{source}': clock thread_cpu needs runtime onnxruntime with threads 1.")
    return Device(
        name=_device_name(_get(data, "name", str, source, name), source),
        description=_get(data, "description", str, source, ""),
        runtime=runtime,
        provider=provider,
        precision=_choice(_get(data, "precision", str, source, "fp32"), PRECISIONS, "precision", source),
        space=space,
        resolutions=resolutions,
        datasheet=datasheet,
        cuda_graphs=_get(data, "cuda_graphs", bool, source, False),
        clock=_choice(_get(data, "clock", str, source, "wall"), CLOCKS, "clock", source),
        layer_overhead_us=overhead,
        speed_reference=reference,
        accelerator=_get(data, "accelerator", str, source, None),
        arch=None if arch is None else normalize_arch(arch),
        **ints,
    )


def table_name(device: Device, space: str | None) -> str:
    """``<device>.json`` for the device's own space, ``<device>.<space>.json`` otherwise."""
    return f"{device.name}.json" if space is None or space == device.space else f"{device.name}.{space}.json"


def table_path(device: Device, space: str | None = None) -> Path:
    """Where ``profile`` writes ``device``'s table: your latency-tables folder (never the shipped one)."""
    return latency_tables_dir() / table_name(device, space)


def replaces_shipped_device(name: str) -> bool:
    """Whether your device file ``name`` replaces a shipped device of that name."""
    found = find_device_file(name)
    shipped = SHIPPED_DEVICES / f"{name}.yaml"
    return found is not None and shipped.is_file() and found.resolve() != shipped.resolve()


def table_dirs_for(name: str) -> tuple[Path, ...]:
    """Where device ``name``'s table is looked up: your tables, then the shipped ones, unless your device
    file replaces the shipped device (the shipped table was measured with the shipped file's settings)."""
    return (latency_tables_dir(),) if replaces_shipped_device(name) else table_dirs()


def find_table_path(device: Device | str | Path, space: str | None = None) -> Path:
    """The table search reads for ``device`` (a :class:`Device`, or a name or YAML file as :func:`load_device`
    takes it, as ``--device`` does): yours if you profiled it, else the shipped one; where ``profile`` would
    write it when there is neither."""
    device = as_device(device)
    return find_first(table_dirs_for(device.name), table_name(device, space)) or table_path(device, space)


def is_own_table(device: Device, path: str | Path, space: str | None = None) -> bool:
    """Whether ``path`` is ``device``'s default table (the one search reads, or yours, which profile writes
    without --out), not a copy elsewhere."""
    return Path(path).resolve() in {table_path(device, space).resolve(), find_table_path(device, space).resolve()}


def profile_command(device: Device, path: str | Path, space: str, resolutions: list[int] | None = None) -> str:
    """``ofa-edge profile`` naming the table at ``path`` of ``device``: with ``--space``/``--resolutions`` where
    they are not the device's defaults, and ``-o PATH`` unless ``path`` is the device's own table or a shipped
    one (never written: the command writes yours)."""
    command = f"ofa-edge profile --device {device.name}"
    if space != device.space:
        command += f" --space {space}"
    default = list(device.resolutions) if space == device.space else list(SearchSpace.get(space).resolutions)
    if resolutions is not None and sorted(resolutions) != sorted(default):
        command += " --resolutions " + ",".join(map(str, sorted(resolutions)))
    return command if is_shipped_table(path) or is_own_table(device, path, space) else f"{command} -o {path}"
