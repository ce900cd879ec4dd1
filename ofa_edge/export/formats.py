"""The export formats table: one row per format, the single source of names, suffixes and flags.

As in ultralytics' exporter, the CLI resolves ``--format`` through this table: aliases map
to a canonical name (``trt`` and ``tensorrt`` to ``engine``), an unknown name is refused with
the nearest known one suggested, and a flag a format does not take is refused, not ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ofa_edge.errors import UserError, did_you_mean
from ofa_edge.errors import option_name as field_and_flag


@dataclass(frozen=True)
class ExportFormat:
    """One export target.

    ``int8_activation`` is the activation type of its INT8 (QDQ) model: ``uint8`` where
    ONNX Runtime's x86/ARM kernels are fastest (U8S8), ``int8`` (symmetric, zero point 0)
    where TensorRT reads the QDQ model.
    """

    name: str
    aliases: tuple[str, ...]
    suffix: str
    description: str
    flags: frozenset[str]
    int8_activation: str

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat(
        "onnx", (), ".onnx", "ONNX (verified on ONNX Runtime)", frozenset({"int8", "half", "dynamic_batch"}), "uint8"
    ),
    ExportFormat(
        "ort",
        ("onnxruntime",),
        ".ort",
        "ONNX Runtime ORT-format model for mobile/minimal builds",
        frozenset({"int8", "dynamic_batch"}),
        "uint8",
    ),
    ExportFormat(
        "engine",
        ("trt", "tensorrt"),
        ".engine",
        "TensorRT engine (built here if TensorRT runs, else trtexec command + build script for the target)",
        frozenset({"int8", "half", "dynamic_batch", "max_batch"}),
        "int8",
    ),
)


def get_format(name: str) -> ExportFormat:
    """The format called ``name`` (or one of its aliases), case-insensitive."""
    key = name.strip().lower().lstrip(".")
    for fmt in FORMATS:
        if key in fmt.names:
            return fmt
    known = [n for fmt in FORMATS for n in fmt.names]
    hint = did_you_mean(key, known, cutoff=0.5)
    raise UserError(f"unknown export format '{name}'.{hint} Known formats: {', '.join(known)}.")


_FLAGS = {"calib_images": "--int8-calib-images", "eval_images": "--int8-eval-images"}  # the rest: --field-name


def option_name(field: str) -> str:
    """An export option as errors name it (:func:`~ofa_edge.errors.option_name`, with export's own flags for the
    INT8 image counts): ``max_batch (--max-batch)``."""
    return field_and_flag(field, _FLAGS.get(field))


def check_flags(fmt: ExportFormat, **flags: bool) -> None:
    """Refuse an option (``max_batch=True``: given) that ``fmt`` does not take, instead of silently ignoring it."""
    for flag, on in flags.items():
        if on and flag not in fmt.flags:
            allowed = ", ".join(map(option_name, sorted(fmt.flags))) or "none"
            raise UserError(f"{option_name(flag)} is not supported for format '{fmt.name}'. It takes: {allowed}.")


@dataclass(frozen=True)
class EnginePrecision:
    """An export's FP16 choice (``half``), and for an engine what its precision followed (``source``: the
    bundle's ``tensorrt.precision_from``; ``None`` for other formats), with a note and a warning to print."""

    half: bool
    source: dict[str, Any] | None = None
    note: str | None = None
    warning: str | None = None


def engine_half(fmt: ExportFormat, half: bool | None, int8: bool, table: dict) -> EnginePrecision:
    """Whether a bundle is FP16, with what an engine's precision followed, a note and a warning (either may be
    ``None``).

    A TensorRT engine's latency depends on its precision, and the search predicted it for the
    precision of the latency table it used (``table``: its provenance). Without ``--half`` or
    ``--no-half`` an engine follows that table (Jetson Orin's is FP16) and says so; an explicit
    choice that differs from it is kept, with a warning that the predicted latency does not apply.
    A table of another runtime (an x86 CPU's ONNX Runtime, an H100's torch) warns that its
    latencies are not a TensorRT engine's.
    """
    if fmt.name != "engine":
        return EnginePrecision(bool(half))
    half, chosen_by, note, warning = _engine_precision(half, int8, table)
    source = {"device": table.get("device"), "precision": table.get("precision"), "chosen_by": chosen_by}
    backend = str(table.get("backend", ""))
    if backend and "tensorrt" not in backend:
        other = (
            f"the search predicted latency for {table.get('device', 'its device')} with {backend}, not for a "
            "TensorRT engine, so its predicted latency does not apply to this engine; search with a TensorRT "
            "device's table (e.g. --device jetson-orin) for one that does."
        )
        warning = f"{warning} Also, {other}" if warning else other
    return EnginePrecision(half, source, note, warning)


def timed_on_tensorrt(table: dict) -> bool:
    """Whether a searched table (its provenance) was timed on TensorRT: its subnet ships as an engine."""
    return "tensorrt" in str(table.get("backend", ""))


def engine_table(tables: list[dict]) -> dict:
    """The searched table (provenance) an engine follows: the first TensorRT device's, else the first's. A search
    for ``--device x86-cpu --device jetson-orin`` lists the CPU first, but its engine is the Orin's."""
    return next((t for t in tables if timed_on_tensorrt(t)), tables[0] if tables else {})


def _engine_precision(half: bool | None, int8: bool, table: dict) -> tuple[bool, str, str | None, str | None]:
    """An engine's FP16 choice, what chose it (``table``, ``default``: fp32 without a table to follow, or the
    option: a Python caller's ``half=`` counts as its flag), a note and a warning: the searched table's precision
    unless --half/--no-half/--int8 chose."""
    measured, device = table.get("precision"), table.get("device", "the target")
    if half is None and not int8:
        half = measured == "fp16"
        why = f"{device}'s latency table is for {measured}" if measured else "no searched table to follow"
        return (
            half,
            "table" if measured else "default",
            f"precision {'fp16' if half else 'fp32'}: {why} ({'--no-half' if half else '--half'} for the other)",
            None,
        )
    chosen = "int8" if int8 else "fp16" if half else "fp32"
    flag = "--int8" if int8 else "--half" if half else "--no-half"
    if measured and chosen != measured:
        hint = "; without --half/--no-half/--int8 the engine follows the table" if measured in ("fp16", "fp32") else ""
        warning = (
            f"this engine is {chosen} but the search predicted {device}'s latency for {measured} engines: "
            f"expect another latency on the device{hint}."
        )
        return bool(half), flag, None, warning
    return bool(half), flag, None, None
