"""ONNX Runtime's own format: the graph optimised offline and saved as ``.ort``.

Same settings as ``python -m onnxruntime.tools.convert_onnx_models_to_ort`` (fixed
optimisation style, all graph optimisations except the x86-only NCHWc layout transform,
so the file runs on ARM phones too), done in-process through ``SessionOptions``.
"""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort

PORTABLE_DISABLED = ["NchwcTransformer"]


def write_optimized(onnx_path: str | Path, out_path: str | Path) -> Path:
    """Write the ORT-optimised model to ``out_path``: ``.ort`` format, or ONNX for a ``.onnx`` suffix."""
    out_path = Path(out_path)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(out_path)
    so.log_severity_level = 3
    if out_path.suffix == ".ort":
        so.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"], disabled_optimizers=PORTABLE_DISABLED)
    return out_path
