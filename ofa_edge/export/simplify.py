"""Graph simplification with the ONNX project's own optimizer passes (``onnxscript.optimizer``).

Constant folding (weight ``Identity`` chains, shape arithmetic) and dead-node removal.
``onnxscript`` is already an ofa-edge dependency (torch's exporter uses it), so no extra
package is needed. The pattern-rewrite rules of ``onnxscript.optimizer.optimize`` are left
out: they change nothing in these CNN graphs and cost ~6x the time.
"""

from __future__ import annotations

import onnx
import onnxscript.optimizer
from onnxscript import ir


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    """A simplified copy of ``model`` with the same inputs, outputs and function."""
    graph = ir.serde.deserialize_model(model)
    onnxscript.optimizer.fold_constants(graph)
    onnxscript.optimizer.remove_unused_nodes(graph)
    simplified = ir.serde.serialize_model(graph)
    onnx.checker.check_model(simplified, full_check=True)
    return simplified
