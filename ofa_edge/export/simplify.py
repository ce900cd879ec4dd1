"""Graph simplification with the ONNX project's own optimizer (``onnxscript.optimizer``).

Constant folding, dead-node and Identity removal, shape inference. ``onnxscript`` is
already an ofa-edge dependency (torch's exporter uses it), so no extra package is needed.
"""

from __future__ import annotations

import onnx
import onnxscript.optimizer


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """A simplified copy of ``model`` with the same inputs, outputs and function."""
    simplified = onnxscript.optimizer.optimize(model)
    onnx.checker.check_model(simplified, full_check=True)
    return simplified
