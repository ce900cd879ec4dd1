"""Export's BN recalibration: channels_last on the CPU, the model handed back NCHW, the same statistics."""

from __future__ import annotations

import torch

from ofa_edge import SearchSpace, Supernet
from ofa_edge.export.pipeline import _recalibrate
from ofa_edge.supernet.bn_calibration import recalibrate_bn


def test_recalibration_in_channels_last_hands_back_nchw_with_the_same_statistics():
    torch.manual_seed(0)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    net, cfg = Supernet(space, 10), space.min(24)
    batches = [torch.randn(8, 3, 24, 24) for _ in range(2)]
    fast, plain = net.extract(cfg).eval(), net.extract(cfg).eval()
    _recalibrate(fast, iter(batches))
    recalibrate_bn(plain, batches)
    assert all(p.is_contiguous() for p in fast.parameters()) and not fast.training  # handed back NCHW
    want, got = plain.state_dict(), fast.state_dict()
    assert all(torch.allclose(want[k].float(), got[k].float(), atol=1e-4) for k in want if "running" in k)
