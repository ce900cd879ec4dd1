"""Evaluation on ONNX Runtime (a CPU with many images): the same logits and top-1 as eager PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet, evaluate
from ofa_edge.supernet.evaluate import evaluate_subnet
from ofa_edge.supernet.ort_forward import ort_forward


@pytest.fixture(scope="module")
def trained_like() -> Supernet:
    """A supernet with non-trivial BN statistics, so the logits are not all alike."""
    torch.manual_seed(0)
    net = Supernet(SearchSpace.get("mbv3-w1.0-cifar"), 10)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return net.eval()


def test_ort_logits_equal_eager_logits(trained_like) -> None:
    cfg = trained_like.space.sample(np.random.default_rng(1))
    sub = trained_like.extract(cfg).eval()
    x = torch.randn(37, 3, cfg.resolution, cfg.resolution).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        want = sub(x)
    got = ort_forward(sub, cfg.resolution)(x)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-4, rtol=1e-4)


def test_evaluation_on_ort_gives_the_eager_top1(trained_like, real, cifar_test_small, monkeypatch) -> None:
    cfg = trained_like.space.sample(np.random.default_rng(2))
    val = cifar_test_small.subset(slice(0, 200))
    eager = evaluate_subnet(trained_like, cfg, real, val, torch.device("cpu"), batch_size=64)
    used = []
    monkeypatch.setattr(evaluate, "MIN_IMAGES", 100)  # 200 images now go to ONNX Runtime
    monkeypatch.setattr(evaluate, "ort_forward", lambda *a: used.append(a) or ort_forward(*a))
    on_ort = evaluate_subnet(trained_like, cfg, real, val, torch.device("cpu"), batch_size=64)
    assert used and on_ort == eager
