"""INT8 (QDQ) quantization keeps the FP32 model's accuracy on real CIFAR-10 test images.

With the embedded pretrained supernet installed, its subnet is quantized as shipped. Without
it, the smallest CIFAR subnet gets its classifier fitted on real CIFAR-10 training images
(ridge regression on its random features: ~21% top-1, twice chance) so that it has an accuracy well above
chance that quantization could lose; an untouched random network predicts one class.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from ofa_edge import SearchSpace, Supernet
from ofa_edge.data import load_packed
from ofa_edge.data.transforms import normalize, resize
from ofa_edge.export.int8 import quantize_int8
from ofa_edge.export.onnx_export import export_onnx
from ofa_edge.onnx_bridge import ort_session, run_session
from ofa_edge.paths import embedded_supernet
from ofa_edge.supernet.bn_calibration import recalibrate_bn
from ofa_edge.supernet.checkpoint import load_supernet

EVAL_IMAGES = 500


def _fit_classifier(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    """Fit the last layer by ridge regression on the network's features (a linear probe)."""
    head = model.head
    with torch.no_grad():
        x = head.expand_bn(head.expand(model.blocks(model.stem(images))))
        feats = torch.nn.functional.hardswish(head.mix(torch.nn.functional.hardswish(x).mean((2, 3), keepdim=True)))
        f = torch.cat([feats.flatten(1), torch.ones(len(images), 1)], 1).double()
        y = torch.nn.functional.one_hot(labels, 10).double() * 10
        w = torch.linalg.solve(f.T @ f + 100.0 * torch.eye(f.shape[1], dtype=torch.double), f.T @ y)
        head.classifier.weight.copy_(w[:-1].T.float())
        head.classifier.bias.copy_(w[-1].float())


@pytest.fixture(scope="module")
def fp32_model(data_root):
    """(model, space, resolution, min agreement): the pretrained supernet's subnet, or a linear-probed one.

    The probe model's logits have small margins (random features), so INT8 flips more of its
    near-tie predictions (75-82% agreement measured) than a trained network's; its bound is lower.
    The embedded H100-trained supernet's min subnet agreed on 96.4% (int8) and 97.8% (uint8) of
    the test images on an AVX-512 VNNI CPU, and on 94.8% / 97.0% on an AVX2-only one (where
    full-range uint8 weights saturate ORT's U8S8 kernels: 85.2%), hence 0.9. The issue's criterion, top-1 within 2 points, is the same for both.
    """
    if embedded_supernet().is_file():
        net = load_supernet(embedded_supernet())
        cfg = net.space.min(max(r for r in net.space.resolutions if r <= 160))
        train = load_packed(data_root, "train", limit=500, seed=0)
        model = net.extract(cfg)
        recalibrate_bn(model, [resize(normalize(train.images, net.space.mean, net.space.std), cfg.resolution)])
        return model.eval(), net.space, cfg.resolution, 0.9
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    model = Supernet(space, 10).extract(space.min(24))
    train = load_packed(data_root, "train", limit=1500, seed=0)
    images = resize(normalize(train.images, space.mean, space.std), 24)
    recalibrate_bn(model, [images[:500]])
    _fit_classifier(model.eval(), images, train.labels)
    return model, space, 24, 0.7


@pytest.mark.parametrize("activation", ["uint8", "int8"])
def test_int8_keeps_top1_within_two_points(fp32_model, data_root, tmp_path, activation):
    model, space, res, min_agreement = fp32_model
    onnx.save(export_onnx(model, res), tmp_path / "fp32.onnx")
    calib = load_packed(data_root, "train", limit=128, seed=1)
    quantize_int8(
        tmp_path / "fp32.onnx",
        tmp_path / "int8.onnx",
        resize(normalize(calib.images, space.mean, space.std), res),
        activation=activation,
    )
    q = onnx.load(tmp_path / "int8.onnx")
    ops = {n.op_type for n in q.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # QDQ, the format TensorRT reads
    zero_points = [onnx.numpy_helper.to_array(t) for t in q.graph.initializer if t.name.endswith("_zero_point")]
    if activation == "int8":  # TensorRT needs symmetric int8 everywhere
        assert all(zp.dtype == np.int8 and not zp.any() for zp in zero_points)

    test = load_packed(data_root, "test", limit=EVAL_IMAGES, seed=0)
    images = resize(normalize(test.images, space.mean, space.std), res)
    labels = test.labels.numpy()
    pred32, pred8 = (run_session(ort_session(tmp_path / f), images, 1).argmax(1) for f in ("fp32.onnx", "int8.onnx"))
    acc32, acc8 = 100 * (pred32 == labels).mean(), 100 * (pred8 == labels).mean()
    assert acc32 > 18, f"reference model too weak to test quantization ({acc32:.1f} %)"
    agree = (pred32 == pred8).mean()
    assert abs(acc8 - acc32) <= 2 and agree >= min_agreement, (acc32, acc8, agree)


def test_bad_activation_type_is_refused(tmp_path):
    with pytest.raises(ValueError, match="activation"):
        quantize_int8(tmp_path / "x.onnx", tmp_path / "y.onnx", torch.zeros(1, 3, 32, 32), activation="fp8")
