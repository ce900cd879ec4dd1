"""BN recalibration on real CIFAR-10 images: exact data statistics, same on supernet and extract."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ofa_edge.data.transforms import normalize, resize
from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import recalibrate_bn

CIFAR = SearchSpace.get("mbv3-w1.0-cifar")
CFG = CIFAR.min()  # 24 px: real images resized, to keep the test fast


@pytest.fixture(scope="module")
def images(cifar_test_small) -> torch.Tensor:
    """64 real CIFAR-10 test images at 24 px, normalised; the subset is class-sorted, so shuffle."""
    x = resize(normalize(cifar_test_small.images, CIFAR.mean, CIFAR.std), CFG.resolution)
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:64]]


@pytest.fixture(scope="module")
def supernet() -> Supernet:
    torch.manual_seed(0)
    net = Supernet(CIFAR, num_classes=10)
    net.set_active(CFG)
    return net.eval()


def _bns(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]


def _batch_statistics(model: nn.Module, batches: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per BN layer: mean over batches, weighted by their images, of the batch mean and unbiased variance
    of its input, captured with hooks on a copy running in training mode (batch statistics)."""
    model = copy.deepcopy(model).train()
    seen: dict[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in _bns(model)}

    def hook(m: nn.Module, inp: tuple[torch.Tensor]) -> None:
        x = inp[0]
        seen[m].append((x.mean((0, 2, 3)), x.var((0, 2, 3), unbiased=True)))

    handles = [m.register_forward_pre_hook(hook) for m in seen]
    with torch.no_grad():
        for x in batches:
            model(x)
    for h in handles:
        h.remove()
    weights = torch.tensor([len(x) for x in batches], dtype=torch.float32)
    weights = (weights / weights.sum())[:, None]
    return [tuple((torch.stack(s) * weights).sum(0) for s in zip(*stats, strict=True)) for stats in seen.values()]


def test_recalibration_sets_the_data_statistics(supernet: Supernet, images: torch.Tensor) -> None:
    sub = supernet.extract(CFG)
    for bn in _bns(sub):  # stale statistics, as a weight-shared supernet has for most subnets
        bn.running_mean.fill_(3.0)
        bn.running_var.fill_(9.0)
        bn.momentum = 0.25
    batches = list(torch.split(images, 16))
    want = _batch_statistics(sub, batches)
    assert recalibrate_bn(sub, batches) == len(images)
    assert not sub.training
    for bn, (mean, var) in zip(_bns(sub), want, strict=True):
        torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(bn.running_var, var, rtol=1e-4, atol=1e-5)
        assert bn.momentum == 0.25  # restored
    assert recalibrate_bn(sub, batches, max_batches=2) == 32


def test_a_short_last_batch_counts_by_its_images(supernet: Supernet, images: torch.Tensor) -> None:
    """--bn-images 600 in batches of 500 gives a batch of 100: it weighs a sixth, not half (torch's cumulative
    average weighs every batch alike)."""
    sub = supernet.extract(CFG)
    batches = [images[:56], images[56:]]  # 56 + 8
    want = _batch_statistics(sub, batches)
    assert recalibrate_bn(sub, [images[:0], *batches]) == len(images)  # an empty batch counts for nothing
    for bn, (mean, var) in zip(_bns(sub), want, strict=True):
        torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(bn.running_var, var, rtol=1e-4, atol=1e-5)


def test_recalibration_makes_eval_outputs_match_batch_statistics(supernet: Supernet, images: torch.Tensor) -> None:
    """On real images, eval-mode predictions after recalibration agree with what the network
    computes with the data's own statistics; with stale statistics they do not."""
    sub = supernet.extract(CFG)
    for bn in _bns(sub):
        bn.reset_running_stats()  # mean 0 / var 1: wrong for real activations
    with torch.no_grad():
        reference = copy.deepcopy(sub).train()
        for m in reference.modules():
            if isinstance(m, nn.Dropout):
                m.eval()
        want = reference(images)  # one batch: exact data statistics
        stale = sub.eval()(images)
        recalibrate_bn(sub, [images])
        got = sub(images)
    assert (stale - want).abs().max() > 100 * (got - want).abs().max()
    assert (got.argmax(1) == want.argmax(1)).float().mean() >= 0.95
    torch.testing.assert_close(got, want, rtol=1e-2, atol=1e-2 * want.abs().max().item())


def test_supernet_and_extracted_recalibrate_alike(supernet: Supernet, images: torch.Tensor) -> None:
    """Recalibrating the supernet (sliced BN) and extracting equals extracting and recalibrating."""
    batches = list(torch.split(images[:32], 16))
    direct = supernet.extract(CFG)
    recalibrate_bn(direct, batches)
    shared = copy.deepcopy(supernet)
    recalibrate_bn(shared, batches)
    via_supernet = shared.extract(CFG)
    for a, b in zip(_bns(direct), _bns(via_supernet), strict=True):
        torch.testing.assert_close(a.running_mean, b.running_mean, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(a.running_var, b.running_var, rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        torch.testing.assert_close(shared(images[:8]), via_supernet(images[:8]), rtol=1e-4, atol=1e-5)


def test_no_batches_is_refused_and_keeps_the_statistics(supernet: Supernet) -> None:
    """An empty loader would leave reset statistics (near-chance accuracy, silently): it raises and
    nothing changes."""
    sub = supernet.extract(CFG)
    before = copy.deepcopy(sub.state_dict())
    for batches in ([], iter(())):
        with pytest.raises(UserError, match="no images came from the batches"):
            recalibrate_bn(sub, batches)
        assert all(torch.equal(v, sub.state_dict()[k]) for k, v in before.items())


def test_a_data_loader_of_images_and_labels_recalibrates_as_its_images_do(
    supernet: Supernet, images: torch.Tensor
) -> None:
    """A torch DataLoader yields (images, labels) pairs; they failed with 'the input is a list, not a
    torch.Tensor', which named neither the loader nor the fix."""
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(images, torch.zeros(len(images), dtype=torch.long)), batch_size=16)
    sub = supernet.extract(CFG)
    want = _batch_statistics(sub, list(torch.split(images, 16)))
    assert recalibrate_bn(sub, loader) == len(images)
    for bn, (mean, var) in zip(_bns(sub), want, strict=True):
        torch.testing.assert_close(bn.running_mean, mean, rtol=1e-4, atol=1e-5)


def test_a_failed_recalibration_keeps_the_statistics(supernet: Supernet, images: torch.Tensor) -> None:
    """A batch the network cannot take left every BN layer reset (mean 0, var 1) behind the exception: a
    notebook that went on after it scored near chance."""
    sub = supernet.extract(CFG)
    before = copy.deepcopy(sub.state_dict())
    with pytest.raises(UserError, match="dimensions, not 4"):
        recalibrate_bn(sub, [images[:8], images[0]])
    assert all(torch.equal(v, sub.state_dict()[k]) for k, v in before.items())


@pytest.mark.parametrize("model", ["supernet.safetensors", torch.zeros(2, 3, 32, 32), None])
def test_something_other_than_a_network_is_refused(model: object, images: torch.Tensor) -> None:
    """A checkpoint path or swapped arguments gave AttributeError: 'str' object has no attribute 'modules'."""
    with pytest.raises(
        UserError, match=rf"recalibrate_bn\(model, batches\) takes the network first .* got a {type(model).__name__}\."
    ):
        recalibrate_bn(model, [images[:8]])  # type: ignore[arg-type]


def test_channels_last_recalibration_hands_back_nchw_with_the_same_statistics(supernet: Supernet) -> None:
    """Export recalibrates in the CPU's fast format: the statistics are NCHW's, the weights handed back NCHW."""
    sub_cfg = CIFAR.min(24)
    batches = [torch.randn(8, 3, 24, 24, generator=torch.Generator().manual_seed(i)) for i in range(2)]
    fast, plain = supernet.extract(sub_cfg).eval(), supernet.extract(sub_cfg).eval()
    assert recalibrate_bn(fast, iter(batches), channels_last=True) == 16
    recalibrate_bn(plain, batches)
    assert all(p.is_contiguous() for p in fast.parameters()) and not fast.training  # handed back NCHW
    want, got = plain.state_dict(), fast.state_dict()
    assert all(torch.allclose(want[k].float(), got[k].float(), atol=1e-4) for k in want if "running" in k)


def test_one_tensor_of_images_is_refused_with_how_to_batch_it(supernet: Supernet, images: torch.Tensor) -> None:
    """A tensor passed as ``batches`` was iterated image by image, and the error said to add a batch dimension."""
    sub = supernet.extract(CFG)
    with pytest.raises(UserError, match=r"got one tensor of shape \(64, 3, 24, 24\); pass \[images\]"):
        recalibrate_bn(sub, images)  # type: ignore[arg-type]
    assert recalibrate_bn(sub, [images]) == len(images)
