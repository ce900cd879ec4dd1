"""Torch -> ONNX bytes and CPU ONNX Runtime sessions: the one road every stage takes to ONNX.

Evaluation (``supernet``), latency tables (``latency``), pruning (``prune``) and the exporter
(``export``) all reach ONNX through here, so none of them imports a later stage of the pipeline.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime as ort
    import torch
    from torch import nn

OPSET = 17


def torch_to_onnx(
    model: nn.Module,
    example: torch.Tensor,
    *,
    input_name: str = "input",
    output_name: str = "logits",
    dynamic_batch: bool = False,
    opset: int = OPSET,
) -> bytes:
    """ONNX bytes of ``model`` (put in eval mode) traced on ``example``; the batch axis is
    symbolic with ``dynamic_batch``, every other axis is fixed.

    Uses torch's TorchScript exporter (``dynamo=False``): ~10x faster to export than the dynamo
    exporter for these static CNNs, with the same runtime speed.
    """
    import torch

    axes = {input_name: {0: "batch"}, output_name: {0: "batch"}} if dynamic_batch else None
    buf = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", DeprecationWarning)  # the legacy exporter announces itself
        torch.onnx.export(
            model.eval(),
            (example,),
            buf,
            dynamo=False,
            opset_version=opset,
            input_names=[input_name],
            output_names=[output_name],
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return buf.getvalue()


def with_batch_axis(model: bytes, name: str = "batch") -> bytes:
    """ONNX bytes of ``model``, exported for one batch size, with a symbolic batch axis ``name`` on its inputs and
    outputs instead, so a session runs it on any batch; the inner shapes are left for ONNX Runtime to infer.

    The nodes stay as they are: for a network whose nodes hold no batch size (these CNNs flatten with
    ``Flatten``) ONNX Runtime optimizes both alike, and the outputs are those of an export with a symbolic batch.
    """
    import onnx

    proto = onnx.load_from_string(model)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = name
    del proto.graph.value_info[:]
    return proto.SerializeToString()


def ort_session(model: str | Path | bytes, threads: int | None = None) -> ort.InferenceSession:
    """A CPU ONNX Runtime session (``threads`` defaults to torch's thread count)."""
    import onnxruntime as ort  # on first use: the stages that only export need not load it
    import torch

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    src = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def run_session(session: ort.InferenceSession, images: torch.Tensor, batch: int) -> np.ndarray:
    """Outputs of ``session`` for ``images`` (N,3,H,W float32) in batches of ``batch``."""
    name = session.get_inputs()[0].name
    x = images.numpy().astype(np.float32, copy=False)
    return np.concatenate([session.run(None, {name: x[i : i + batch]})[0] for i in range(0, len(x), batch)])
