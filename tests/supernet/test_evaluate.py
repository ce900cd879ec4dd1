"""evaluate_subnet: top-1 after BN recalibration on the extracted subnet, the supernet left untouched."""

from __future__ import annotations

import numpy as np
import torch

from ofa_edge.data.transforms import normalize, resize
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, recalibrate_bn
from ofa_edge.supernet.evaluate import evaluate_subnet, module_top1


def test_top1_matches_a_hand_computation_and_leaves_the_supernet_alone(real, cifar_test_small) -> None:
    """BN is recalibrated in batches of BN_CALIB_BATCH, as in every command, whatever the inference batch."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = Supernet(space, 10).eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    cfg = space.sample(np.random.default_rng(4))
    val = cifar_test_small.subset(slice(0, 40))
    got = evaluate_subnet(net, cfg, real, val, torch.device("cpu"), batch_size=16)

    sub = net.extract(cfg).eval()
    prep = lambda x: resize(normalize(x, space.mean, space.std), cfg.resolution)
    with torch.no_grad():
        recalibrate_bn(sub, [prep(x) for x in real.images.split(BN_CALIB_BATCH)])
        pred = sub(prep(val.images)).argmax(1)
    assert got["top1"] == 100.0 * int((pred == val.labels).sum()) / 40
    assert got["images"] == 40 and got["calib_images"] == len(real)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_module_top1_reports_the_images_scored_after_each_batch(cifar_test_small) -> None:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    module = Supernet(space, 10).extract(space.min(24)).eval()
    val = cifar_test_small.subset(slice(0, 40))
    scored: list[int] = []
    top1 = module_top1(module, val, torch.device("cpu"), 16, space, 24, on_batch=scored.append)
    assert scored == [16, 32, 40] and top1 == module_top1(module, val, torch.device("cpu"), 40, space, 24)


def test_ort_forward_runs_a_given_batch_1_export_on_any_batch_as_its_own() -> None:
    """Prune hands its one export (batch 1) to the top-1's ONNX Runtime forward instead of a second export."""
    from ofa_edge.onnx_bridge import torch_to_onnx
    from ofa_edge.supernet.ort_forward import ort_forward

    torch.manual_seed(0)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    sub = Supernet(space, 10).extract(space.min(24)).eval()
    x = torch.randn(5, 3, 24, 24)
    given = ort_forward(sub, 24, torch_to_onnx(sub, torch.zeros(1, 3, 24, 24)))(x)
    assert given.shape == (5, 10) and torch.equal(given, ort_forward(sub, 24)(x))
