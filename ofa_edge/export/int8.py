"""INT8 static quantization (QDQ) with ONNX Runtime, calibrated on real training images.

QDQ is the format TensorRT reads for explicit quantization. Weights are symmetric int8 per
output channel; activations are uint8 for ONNX Runtime targets (its fastest CPU kernels,
U8S8, with int32 biases) and symmetric int8 for TensorRT, which requires zero points of 0
and takes biases in float (it fuses them itself).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

ACTIVATION_TYPES = {"uint8": QuantType.QUInt8, "int8": QuantType.QInt8}


class _Images(CalibrationDataReader):
    def __init__(self, input_name: str, images: torch.Tensor) -> None:
        arr = images.numpy().astype(np.float32, copy=False)
        self._feeds = iter({input_name: arr[i : i + 1]} for i in range(len(arr)))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def quantize_int8(
    fp32_path: str | Path, out_path: str | Path, calibration: torch.Tensor, *, activation: str = "uint8"
) -> Path:
    """Write a QDQ INT8 copy of ``fp32_path`` calibrated (min-max) on ``calibration`` images.

    ``calibration`` holds normalised float images (N,3,H,W) at the model's resolution.
    """
    if activation not in ACTIVATION_TYPES:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_TYPES)}, got {activation!r}")
    import onnx

    input_name = onnx.load(str(fp32_path), load_external_data=False).graph.input[0].name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared))
        quantize_static(
            str(prepared),
            str(out_path),
            _Images(input_name, calibration),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=ACTIVATION_TYPES[activation],
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={
                "ActivationSymmetric": activation == "int8",
                "WeightSymmetric": True,
                "QuantizeBias": activation == "uint8",
            },
        )
    return Path(out_path)
