"""Export a subnet into a deploy bundle: ONNX, ORT format, INT8 (QDQ), TensorRT."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ofa_edge.lazy import lazy_exports

if TYPE_CHECKING:
    from ofa_edge.export.formats import FORMATS, ExportFormat, get_format
    from ofa_edge.export.pipeline import export_bundle
    from ofa_edge.export.request import ExportRequest
    from ofa_edge.export.verify import VerificationError

__all__ = ["FORMATS", "ExportFormat", "ExportRequest", "VerificationError", "export_bundle", "get_format"]
__getattr__ = lazy_exports(
    __name__,
    {
        "FORMATS": "ofa_edge.export.formats",
        "ExportFormat": "ofa_edge.export.formats",
        "ExportRequest": "ofa_edge.export.request",
        "VerificationError": "ofa_edge.export.verify",
        "export_bundle": "ofa_edge.export.pipeline",
        "get_format": "ofa_edge.export.formats",
    },
)
