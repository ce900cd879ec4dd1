"""An extracted subnet's inference on ONNX Runtime: how evaluation runs on a CPU.

On a CPU, ONNX Runtime runs these depthwise-heavy networks faster than eager PyTorch with the
same predictions: the forward passes of 1,000 CIFAR images took 2.0 s on it against 4.0 s in
eager batches of 32 and 14.0 s in eager batches of 500 (AMD EPYC Zen 4 VM, 1 thread,
benchmarks/bench_eval_batch.py). Exporting costs about a second, so it pays from a few hundred
images on.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ofa_edge.onnx_bridge import ort_session, torch_to_onnx, with_batch_axis

# Below this many images, exporting costs more than it saves: eager PyTorch runs them.
MIN_IMAGES = 1000


def ort_forward(
    module: nn.Module, resolution: int, onnx: bytes | None = None
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module`` (batch-norm statistics final; put in eval mode and NCHW weights, in place) as a
    function of an image batch that runs on a CPU ONNX Runtime session with torch's thread count;
    it returns logits as a tensor. ``onnx``: ``module`` already exported (ONNX bytes, for one batch size or
    any), run instead of exporting it again."""
    module = module.eval().to(memory_format=torch.contiguous_format)
    if onnx is None:
        onnx = torch_to_onnx(module, torch.zeros(1, 3, resolution, resolution), dynamic_batch=True)
    else:
        onnx = with_batch_axis(onnx)
    session = ort_session(onnx)
    name = session.get_inputs()[0].name

    def forward(x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(session.run(None, {name: x.contiguous().numpy()})[0])

    return forward
