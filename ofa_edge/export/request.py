"""What one export is asked to do (:class:`ExportRequest`), with the defaults of its options: a light module,
so ``ofa-edge export --help`` shows them without importing torch and ONNX."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ofa_edge.errors import UserError
from ofa_edge.export.formats import ExportFormat, check_flags, get_format
from ofa_edge.space import SubnetConfig
from ofa_edge.supernet.bn_calibration import BN_IMAGES
from ofa_edge.units import check_range

if TYPE_CHECKING:
    from ofa_edge.export.inputs import ExportInputs

DEFAULT_MAX_BATCH = 32  # largest batch of a dynamic-batch TensorRT profile
INT8_CALIB_IMAGES = 256  # training images that set the INT8 activation ranges
INT8_EVAL_IMAGES = 2000  # test images for the FP32 vs INT8 top-1 comparison


def check_counts(max_batch: int | None, bn_images: int, calib_images: int, eval_images: int) -> None:
    """Refuse a count below 1, naming its command-line option (``None``: an option left unset)."""
    for flag, value in (("--max-batch", max_batch), ("--bn-images", bn_images),
                        ("--int8-calib-images", calib_images), ("--int8-eval-images", eval_images)):  # fmt: skip
        check_range(flag, value, ge=1)


@dataclass(frozen=True)
class ExportRequest:
    """Everything one export needs; the CLI fills it and prints every default it picked."""

    format: ExportFormat
    subnet: SubnetConfig
    supernet: Path
    out: Path
    data: Path
    int8: bool = False
    half: bool = False
    dynamic_batch: bool = False
    max_batch: int = DEFAULT_MAX_BATCH
    bn_images: int = BN_IMAGES
    calib_images: int = INT8_CALIB_IMAGES
    eval_images: int = INT8_EVAL_IMAGES
    verify_images: int = 8
    subnet_source: str = ""
    device: str | None = None
    predicted: dict[str, Any] = field(default_factory=dict)
    latency_table: dict[str, Any] = field(default_factory=dict)
    slim: Path | None = None  # a pruned network's slim.json (from `ofa-edge prune`) instead of a supernet subnet
    bn_cache: Path | None = None  # folder of recalibrated BN statistics (the CLI: <work dir>/cache/bn); None: none

    def __post_init__(self) -> None:
        """Take a format's name (``"onnx"``) and paths as strings, as the command line does, and refuse what the
        command refuses (a :class:`UserError` naming its option), before any work."""
        if isinstance(self.format, str):
            object.__setattr__(self, "format", get_format(self.format))
        for name in ("supernet", "out", "data", "slim", "bn_cache"):
            if isinstance(value := getattr(self, name), str):
                object.__setattr__(self, name, Path(value))
        if not isinstance(self.subnet, SubnetConfig):
            raise UserError(
                f"ExportRequest: subnet must be a SubnetConfig, got {type(self.subnet).__name__}; read one with "
                "SubnetConfig.load(path) or build it with SubnetConfig.from_dict(...)."
            )
        if self.int8 and self.half:
            raise UserError("int8 and half (--int8, --half) exclude each other: pick one precision.")
        check_counts(self.max_batch, self.bn_images, self.calib_images, self.eval_images)
        check_range("verify_images", self.verify_images, ge=1)
        check_flags(
            self.format, int8=self.int8, half=self.half, dynamic_batch=self.dynamic_batch,
            max_batch=self.max_batch != DEFAULT_MAX_BATCH,
        )  # fmt: skip

    @classmethod
    def from_inputs(
        cls, inputs: ExportInputs, format: ExportFormat | str, out: Path | str, data: Path | str, **options: Any
    ) -> ExportRequest:
        """The request for what :func:`~ofa_edge.export.inputs.resolve_inputs` (or ``slim_inputs``: a pruned
        network) found: its subnet and supernet, and the search's predictions that hold for them (the bundle
        records them); ``options`` are the other fields."""
        last = inputs.last_search
        return cls(
            format=format,
            subnet=inputs.subnet,
            supernet=inputs.supernet,
            out=out,
            data=data,
            subnet_source=inputs.subnet_source,
            device=last.device if last else None,
            predicted=inputs.predicted,
            latency_table=last.latency_table if last else {},
            slim=inputs.slim,
            **options,
        )
