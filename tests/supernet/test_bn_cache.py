"""The BN-statistics cache: an entry restores exactly what recalibration computed, and nothing else."""

from __future__ import annotations

import torch

from ofa_edge import SearchSpace, Supernet
from ofa_edge.supernet.bn_cache import bn_cache_key, load_bn_stats, save_bn_stats
from ofa_edge.supernet.bn_calibration import recalibrate_bn

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _bn_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}


def test_an_entry_restores_the_recalibrated_statistics(tmp_path):
    torch.manual_seed(0)
    net, cfg = Supernet(SPACE, 10), SPACE.min(24)
    images = torch.randint(0, 256, (16, 32, 32, 3), dtype=torch.uint8)
    batches = [torch.randn(8, 3, 24, 24) for _ in range(2)]
    entry = tmp_path / "bn" / f"{bn_cache_key('ab' * 32, cfg, images, 8)}.safetensors"
    first = net.extract(cfg)
    assert not load_bn_stats(first, entry)  # no entry yet
    recalibrate_bn(first, batches)
    save_bn_stats(first, entry)
    assert entry.is_file()
    second = net.extract(cfg).eval()
    assert load_bn_stats(second, entry)  # no passes at all: the entry's statistics
    want, got = _bn_state(first), _bn_state(second)
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    assert not second.training


def test_keys_change_with_images_subnet_and_checkpoint():
    images = torch.zeros(4, 32, 32, 3, dtype=torch.uint8)
    other = images.clone()
    other[0, 0, 0, 0] = 1
    key = bn_cache_key("a" * 64, SPACE.min(24), images, 100)
    assert key == bn_cache_key("a" * 64, SPACE.min(24), images.clone(), 100)
    assert key != bn_cache_key("a" * 64, SPACE.min(24), other, 100)
    assert key != bn_cache_key("a" * 64, SPACE.min(28), images, 100)
    assert key != bn_cache_key("b" * 64, SPACE.min(24), images, 100)
    assert key != bn_cache_key("a" * 64, SPACE.min(24), images, 50)
    inactive = SPACE.min(24).to_dict()  # a gene of a block beyond its stage's depth: the same network
    inactive["kernel"][3] = max(SPACE.kernels)
    assert key == bn_cache_key("a" * 64, type(SPACE.min(24)).from_dict(inactive), images, 100)


def test_an_entry_that_does_not_fit_is_not_loaded_and_is_replaced(tmp_path):
    torch.manual_seed(0)
    net = Supernet(SPACE, 10)
    entry = tmp_path / "entry.safetensors"
    entry.write_bytes(b"not a safetensors file")
    small = net.extract(SPACE.min(24))
    before = _bn_state(small)
    assert not load_bn_stats(small, entry)
    recalibrate_bn(small, [torch.randn(8, 3, 24, 24)])
    save_bn_stats(small, entry)
    big = net.extract(SPACE.max(24))  # another subnet's BN layers: the entry does not fit it
    assert not load_bn_stats(big, entry)
    recalibrate_bn(big, [torch.randn(8, 3, 24, 24)])
    save_bn_stats(big, entry)
    assert load_bn_stats(net.extract(SPACE.max(24)), entry)  # replaced by the big one's
    assert before.keys() == _bn_state(small).keys()
