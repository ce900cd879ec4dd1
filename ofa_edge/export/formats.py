"""The export formats table: one row per format, the single source of names, suffixes and flags.

As in ultralytics' exporter, the CLI resolves ``--format`` through this table: aliases map
to a canonical name (``trt`` and ``tensorrt`` to ``engine``), an unknown name is refused with
the nearest known one suggested, and a flag a format does not take is refused, not ignored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ofa_edge.errors import UserError


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
        frozenset({"int8", "half", "dynamic_batch"}),
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
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    raise UserError(f"unknown export format '{name}'.{hint} Known formats: {', '.join(known)}.")


def check_flags(fmt: ExportFormat, **flags: bool) -> None:
    """Refuse a flag that ``fmt`` does not take (instead of silently ignoring it)."""
    for flag, on in flags.items():
        if on and flag not in fmt.flags:
            allowed = ", ".join(f"--{f.replace('_', '-')}" for f in sorted(fmt.flags)) or "none"
            raise UserError(
                f"--{flag.replace('_', '-')} is not supported for format '{fmt.name}'. Flags it takes: {allowed}."
            )
