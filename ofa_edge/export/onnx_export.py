"""Torch module -> checked, simplified ONNX model (FP32, or FP16 with FP32 inputs and outputs)."""

from __future__ import annotations

import copy

import onnx
import torch
from torch import nn

from ofa_edge.export.simplify import simplify
from ofa_edge.onnx_bridge import OPSET, torch_to_onnx

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


class _Half(nn.Module):
    """Runs ``model`` in FP16 behind FP32 inputs and outputs (the TensorRT 11 way to ask for FP16)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = copy.deepcopy(model).half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.half()).float()


def export_onnx(
    model: nn.Module, resolution: int, *, dynamic_batch: bool = False, half: bool = False, opset: int = OPSET
) -> onnx.ModelProto:
    """Export ``model`` (eval mode) for ``1x3xRxR`` inputs, checked and simplified; batch is
    symbolic with ``dynamic_batch``."""
    model = model.eval()
    if half:
        model = _Half(model)
    example = torch.zeros(1, 3, resolution, resolution)
    raw = torch_to_onnx(
        model, example, input_name=INPUT_NAME, output_name=OUTPUT_NAME, dynamic_batch=dynamic_batch, opset=opset
    )
    proto = onnx.load_from_string(raw)
    onnx.checker.check_model(proto, full_check=True)
    return simplify(proto)
