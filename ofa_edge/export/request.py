"""What one export is asked to do (:class:`ExportRequest`), with the defaults of its options: a light module,
so ``ofa-edge export --help`` shows them without importing torch and ONNX."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ofa_edge.errors import UserError, refuse_options, require_instance
from ofa_edge.export.formats import (
    EnginePrecision,
    ExportFormat,
    check_flags,
    engine_half,
    engine_table,
    get_format,
    option_name,
)
from ofa_edge.onnx_bridge import OPSET
from ofa_edge.space import SubnetConfig
from ofa_edge.supernet.bn_calibration import BN_IMAGES
from ofa_edge.units import check_range

if TYPE_CHECKING:
    from ofa_edge.export.inputs import ExportInputs

DEFAULT_MAX_BATCH = 32  # largest batch of a dynamic-batch TensorRT profile
INT8_CALIB_IMAGES = 256  # training images that set the INT8 activation ranges
INT8_EVAL_IMAGES = 2000  # test images for the FP32 vs INT8 top-1 comparison
FEW_CALIB_IMAGES = 8  # fewer INT8 calibration images than this: a warning (few_calib_images_warning)
MANY_CALIB_IMAGES = 5_000  # more INT8 calibration images than this: a note on the time (many_calib_images_note)
MIN_OPSET = 13  # per-channel QuantizeLinear/DequantizeLinear (--int8's weights) arrived in opset 13
MAX_OPSET = 20  # the newest opset torch's TorchScript exporter (dynamo=False) supports


def check_options(
    format: ExportFormat,
    *,
    int8: bool = False,
    half: bool = False,
    dynamic_batch: bool = False,
    max_batch: int | None = None,
    bn_images: int | None = None,
    calib_images: int | None = None,
    eval_images: int | None = None,
    opset: int | None = None,
    slim: bool = False,
) -> None:
    """The export options' rules, for :class:`ExportRequest` and the command (before any work) alike: refuse a
    count below 1, an option ``format`` does not take, and options that need another (``None``: not given), with
    a :class:`UserError` naming the field and its flag."""
    counts = {"max_batch": max_batch, "bn_images": bn_images, "calib_images": calib_images, "eval_images": eval_images}
    for name, value in counts.items():
        check_range(option_name(name), value, ge=1)
    check_range(option_name("opset"), opset, ge=MIN_OPSET, le=MAX_OPSET, hint=_OPSET_RANGE)
    if int8 and half:
        raise UserError(f"{option_name('int8')} and {option_name('half')} exclude each other: pick one precision.")
    check_flags(format, int8=int8, half=half, dynamic_batch=dynamic_batch, max_batch=max_batch is not None)
    if not int8:
        given = [option_name(name) for name in ("calib_images", "eval_images") if counts[name] is not None]
        refuse_options(given, f"{{given}} set{{s}} the INT8 quantization: add {option_name('int8')}, or drop {{them}}.")
    if slim and bn_images is not None:
        raise UserError(
            f"{option_name('bn_images')} sets the BN recalibration of a supernet's subnet; a pruned network "
            f"({option_name('slim')}) is exported with its own BN statistics: drop it."
        )
    if max_batch is not None and not dynamic_batch:
        raise UserError(
            f"{option_name('max_batch')} sets the largest batch of a dynamic-batch engine: add "
            f"{option_name('dynamic_batch')}, or drop it."
        )


_OPSET_RANGE = (
    f"({MIN_OPSET}: the first with the per-channel quantization --int8 writes; {MAX_OPSET}: the newest torch's "
    f"TorchScript exporter writes; default {OPSET})"
)


def few_calib_images_warning(images: int, available: int | None = None) -> str | None:
    """The warning for INT8 calibration on fewer than :data:`FEW_CALIB_IMAGES` images (``images`` asked for;
    ``available``: the training images the data holds, all used where fewer), else ``None``."""
    used = images if available is None else min(images, available)
    if used >= FEW_CALIB_IMAGES:
        return None
    held = f" (the data holds {used} training image(s), all used)" if used < images else ""
    return (
        f"{option_name('calib_images')} {images}{held}: min-max calibration takes each activation's int8 range from "
        f"these images alone, and other images' activations beyond it are clipped (a 72M-MAC CIFAR-10 subnet, "
        f"top-1 on 1,000 test images, two draws each: 1 image lost up to 3.2 points against FP32, "
        f"{FEW_CALIB_IMAGES} to 256 images at most 0.3). Use {FEW_CALIB_IMAGES} or more (default "
        f"{INT8_CALIB_IMAGES})."
    )


def many_calib_images_note(images: int, available: int | None = None) -> str | None:
    """The note for INT8 calibration on more than :data:`MANY_CALIB_IMAGES` images (``images`` asked for;
    ``available``: the training images the data holds, all used where fewer), else ``None``."""
    used = images if available is None else min(images, available)
    if used <= MANY_CALIB_IMAGES:
        return None
    return (
        f"INT8 calibration on {used:,} images: it runs the FP32 model on each image, one at a time, on the CPU, so "
        "its time grows with the count (a CIFAR-10 subnet on 2 CPU cores: about a minute for 2,000 images, over 5 "
        "for 50,000). TensorRT and Ultralytics calibrate on 500 to 1,000 images; "
        f"{option_name('calib_images')} 1000 is as many."
    )


class ImageCounts(NamedTuple):
    """The images an export takes from its data, each count its default where not given."""

    bn: int  # training images that recalibrate BN
    int8_calib: int  # training images that set the INT8 activation ranges
    int8_eval: int  # test images of the FP32 vs INT8 top-1 comparison


def image_counts(bn_images: int | None, calib_images: int | None, eval_images: int | None) -> ImageCounts:
    """The BN recalibration, INT8 calibration (training) and INT8 evaluation (test) image counts, each its default
    where ``None``."""
    return ImageCounts(
        bn=BN_IMAGES if bn_images is None else bn_images,
        int8_calib=INT8_CALIB_IMAGES if calib_images is None else calib_images,
        int8_eval=INT8_EVAL_IMAGES if eval_images is None else eval_images,
    )


@dataclass(frozen=True)
class ExportRequest:
    """Everything one export needs; the CLI fills it and prints every default it picked."""

    format: ExportFormat
    subnet: SubnetConfig
    supernet: Path
    out: Path
    data: Path
    int8: bool = False
    half: bool | None = None  # None: fp32, but an engine follows engine_table's precision (formats.engine_half)
    dynamic_batch: bool = False
    max_batch: int | None = None  # with dynamic_batch; None: DEFAULT_MAX_BATCH (see engine_max_batch)
    bn_images: int | None = None  # not with slim; None: BN_IMAGES (see images)
    calib_images: int | None = None  # with int8; None: INT8_CALIB_IMAGES (see images)
    eval_images: int | None = None  # with int8; None: INT8_EVAL_IMAGES
    opset: int | None = None  # None: OPSET (see onnx_opset)
    verify_images: int = 8
    subnet_source: str = ""
    device: str | None = None
    predicted: dict[str, Any] = field(default_factory=dict)
    latency_table: dict[str, Any] = field(default_factory=dict)
    engine_table: dict[str, Any] = field(default_factory=dict)  # the searched table an engine follows
    slim: Path | None = None  # a pruned network's slim.json (from `ofa-edge prune`) instead of a supernet subnet
    bn_cache: Path | None = None  # folder of recalibrated BN statistics (the CLI: <work dir>/cache/bn); None: none
    precision: EnginePrecision = field(init=False)  # half resolved, and what an engine's precision followed

    def __post_init__(self) -> None:
        """Take a format's name (``"onnx"``) and paths as strings, as the command line does, refuse what the
        command refuses (:func:`check_options`), before any work, and settle ``half`` (:attr:`precision`)."""
        if isinstance(self.format, str):
            object.__setattr__(self, "format", get_format(self.format))
        for name in ("supernet", "out", "data", "slim", "bn_cache"):
            if isinstance(value := getattr(self, name), str):
                object.__setattr__(self, name, Path(value))
        require_instance(
            self.subnet,
            SubnetConfig,
            "ExportRequest: subnet",
            "read one with SubnetConfig.load(path) or .from_dict(...)",
        )
        check_options(
            self.format, int8=self.int8, half=bool(self.half), dynamic_batch=self.dynamic_batch, max_batch=self.max_batch,
            bn_images=self.bn_images, calib_images=self.calib_images, eval_images=self.eval_images,
            opset=self.opset, slim=self.slim is not None,
        )  # fmt: skip
        check_range("verify_images", self.verify_images, ge=1)
        object.__setattr__(self, "precision", engine_half(self.format, self.half, self.int8, self.engine_table))
        object.__setattr__(self, "half", self.precision.half)

    @property
    def engine_max_batch(self) -> int | None:
        """The largest batch of the engine's dynamic-batch profile (``max_batch``, else ``DEFAULT_MAX_BATCH``);
        ``None`` without ``dynamic_batch``: a static batch of 1."""
        if not self.dynamic_batch:
            return None
        return DEFAULT_MAX_BATCH if self.max_batch is None else self.max_batch

    @property
    def onnx_opset(self) -> int:
        """The ONNX opset the models are written in (``opset``, else :data:`~ofa_edge.onnx_bridge.OPSET`)."""
        return OPSET if self.opset is None else self.opset

    @property
    def images(self) -> ImageCounts:
        """The images this export takes from its data (``bn_images``, ``calib_images``, ``eval_images``), each its
        default where not given."""
        return image_counts(self.bn_images, self.calib_images, self.eval_images)

    def command(self) -> str:
        """The ``ofa-edge export`` command that makes this bundle again, run in the bundle's folder: the same
        subnet (its subnet.json) or pruned network, supernet, data and options (an engine's precision spelled
        out, which would otherwise follow a search's table)."""
        source = (
            f"--slim {self.slim.absolute()}"
            if self.slim
            else f"--subnet subnet.json --supernet {self.supernet.absolute()}"
        )
        flags = [f"--format {self.format.name}", f"--data {self.data.absolute()}"]
        engine_precision = self.format.name == "engine" and not self.int8
        switches = {"--int8": self.int8, "--half": self.half, "--no-half": engine_precision and not self.half,
                    "--dynamic-batch": self.dynamic_batch}  # fmt: skip
        flags += [flag for flag, on in switches.items() if on]
        counts = {"--max-batch": self.max_batch, "--bn-images": self.bn_images,
                  "--int8-calib-images": self.calib_images, "--int8-eval-images": self.eval_images,
                  "--opset": self.opset}  # fmt: skip
        flags += [f"{flag} {n}" for flag, n in counts.items() if n is not None]
        return " ".join(["ofa-edge export", source, *flags])

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
            engine_table=engine_table(last.searched_tables() if last else []),
            slim=inputs.slim,
            **options,
        )
