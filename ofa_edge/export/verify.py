"""Verification: the exported model on ONNX Runtime against PyTorch on the same inputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ofa_edge.onnx_bridge import ort_session, run_session

FP32_TOLERANCE = 1e-4
FP16_RELATIVE_TOLERANCE = 2e-2  # of the largest reference logit: FP16 keeps ~3 significant digits


class VerificationError(RuntimeError):
    """The exported model does not compute what the PyTorch model computes."""


@dataclass(frozen=True)
class Verification:
    """An exported model's largest output difference from PyTorch over ``inputs`` test images,
    at each batch size, against the tolerance it must meet."""

    model: str
    max_abs_diff: float
    tolerance: float
    tolerance_rule: str  # how ``tolerance`` was set: a fixed FP32 bound, or FP16's share of the largest logit
    inputs: int
    batch_sizes: tuple[int, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def verify(
    model_file: str | Path,
    reference: nn.Module,
    images: torch.Tensor,
    *,
    dynamic_batch: bool = False,
    half: bool = False,
) -> Verification:
    """Max |ORT - torch| over ``images``; raises :class:`VerificationError` above the bound.

    The bound is 1e-4 absolute for FP32 models and 2% of the largest logit for FP16 ones.
    A dynamic-batch model is checked at batch 1 and at the full batch.
    """
    with torch.no_grad():
        want = reference.eval()(images).numpy()
    session = ort_session(model_file)
    batches = (1, len(images)) if dynamic_batch and len(images) > 1 else (1,)
    diff = max(float(np.abs(run_session(session, images, b) - want).max()) for b in batches)
    scale = float(np.abs(want).max())
    tolerance = FP16_RELATIVE_TOLERANCE * max(scale, 1.0) if half else FP32_TOLERANCE
    rule = f"{FP16_RELATIVE_TOLERANCE:.0%} of max(1, largest |logit| {scale:.3g})" if half else "FP32 bound"
    result = Verification(Path(model_file).name, diff, tolerance, rule, len(images), batches)
    if not diff <= tolerance:  # also catches NaN
        raise VerificationError(
            f"{result.model} disagrees with PyTorch: max abs diff {diff:.3g} > {tolerance:.3g} "
            f"over {len(images)} images (largest logit {scale:.3g}). The exported model is wrong: please report this."
        )
    return result
