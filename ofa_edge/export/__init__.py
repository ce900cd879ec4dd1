"""Export a subnet into a deploy bundle: ONNX, ORT format, INT8 (QDQ), TensorRT."""

from ofa_edge.export.formats import FORMATS, ExportFormat, get_format
from ofa_edge.export.pipeline import ExportRequest, export_bundle
from ofa_edge.export.verify import VerificationError

__all__ = ["FORMATS", "ExportFormat", "ExportRequest", "VerificationError", "export_bundle", "get_format"]
