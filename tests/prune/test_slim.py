"""Zeroing any ZIGs and slimming keeps the function; the slim net has exactly the surviving parameters."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import torchvision
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.prune import load_slim, partition, save_slim, slim


def _zero_and_slim(model: nn.Module, resolution: int, seed: int, fraction: float):
    x = torch.randn(2, 3, resolution, resolution, generator=torch.Generator().manual_seed(seed))
    part = partition(model, x[:1])
    with torch.no_grad():
        dense = model(x)
    zero = torch.rand(part.num_groups, generator=torch.Generator().manual_seed(seed)) < fraction
    part.zero_(zero)
    assert torch.equal(part.zero_mask(), zero)
    with torch.no_grad():
        sparse = model(x)
        small = slim(model, part, align=1).eval()
        got = small(x)
    assert (sparse - dense).abs().max() > 1e-3  # the zeroing really changed the network
    assert (got - sparse).abs().max().item() <= 1e-5
    n_small = sum(p.numel() for p in small.parameters())
    assert n_small == part.kept_param_count(zero) < sum(p.numel() for p in model.parameters())
    return part, small, x


@pytest.mark.parametrize("seed,fraction", [(0, 0.1), (1, 0.5), (2, 0.9)])
def test_ofa_subnet(ofa_subnet, seed: int, fraction: float) -> None:
    model, cfg = ofa_subnet
    _zero_and_slim(copy.deepcopy(model), cfg.resolution, seed, fraction)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2", "mobilenet_v3_small"])
def test_torchvision(name: str, bn_randomizer) -> None:
    torch.manual_seed(0)
    model = bn_randomizer(torchvision.models.get_model(name, num_classes=10))
    _zero_and_slim(model, 32, 7, 0.4)


@pytest.mark.parametrize("align", [4, 8])
def test_aligned_slim_keeps_the_function_with_aligned_widths(ofa_subnet, align: int) -> None:
    """Keeping zero channels back to reach multiples of ``align`` changes no output."""
    model, cfg = ofa_subnet
    model = copy.deepcopy(model)
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution, generator=torch.Generator().manual_seed(3))
    part = partition(model, x[:1])
    part.zero_(torch.rand(part.num_groups, generator=torch.Generator().manual_seed(3)) < 0.45)
    zero = part.aligned(part.zero_mask(), align)
    for sp in part.spaces:
        kept = sp.size - int(zero[sp.offset : sp.offset + sp.size].sum())
        assert kept % align == 0 or kept == sp.size
    with torch.no_grad():
        small = slim(model, part, align=align).eval()
        assert (small(x) - model(x)).abs().max().item() <= 1e-5
    assert sum(p.numel() for p in small.parameters()) == part.kept_param_count(zero)
    depthwise = [m for m in small.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert depthwise and all(m.out_channels % align == 0 for m in depthwise)


def test_removing_a_nonzero_group_is_detected(tiny_resnet, bn_randomizer) -> None:
    """The exactness check can fail: slimming groups that are not zero changes the output."""
    model = bn_randomizer(tiny_resnet)
    x = torch.randn(2, 3, 8, 8)
    part = partition(model, x[:1])
    claim = torch.zeros(part.num_groups, dtype=torch.bool)
    claim[1] = True
    with torch.no_grad():
        assert (slim(model, part, claim).eval()(x) - model(x)).abs().max() > 1e-4


def test_every_space_keeps_a_channel(tiny_resnet, bn_randomizer) -> None:
    model = bn_randomizer(tiny_resnet)
    x = torch.randn(2, 3, 8, 8)
    part = partition(model, x[:1])
    part.zero_(torch.ones(part.num_groups, dtype=torch.bool))
    with torch.no_grad():
        assert (slim(model, part).eval()(x) - model(x)).abs().max() <= 1e-6


def test_save_and_load_roundtrip(ofa_subnet, tmp_path) -> None:
    model, cfg = ofa_subnet
    model = copy.deepcopy(model)
    x = torch.randn(2, 3, cfg.resolution, cfg.resolution)
    part = partition(model, x[:1])
    part.zero_(torch.rand(part.num_groups, generator=torch.Generator().manual_seed(5)) < 0.3)
    small = slim(model, part).eval()
    doc = save_slim(small, tmp_path, {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": 10})
    loaded = load_slim(doc)
    with torch.no_grad():
        assert torch.equal(loaded(x), small(x))
    assert sum(p.numel() for p in loaded.parameters()) == sum(p.numel() for p in small.parameters())
    for broken, message in [
        ([1, 2], "has format 'list'"),
        ({"format": json.loads(doc.read_text())["format"]}, "lacks base, layers, weights"),
        (json.loads(doc.read_text()) | {"base": {"kind": "torchvision", "name": "resnet18", "kwargs": {"weights": "DEFAULT"}}},
         "asks torchvision for weights"),
    ]:  # fmt: skip
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(broken))
        with pytest.raises(UserError, match=message):
            load_slim(bad)


def test_malformed_layer_sizes_are_named(ofa_subnet, tmp_path) -> None:
    """An edited or damaged slim.json whose layer sizes are not mappings of counts was an internal TypeError."""
    model, cfg = ofa_subnet
    doc = json.loads(
        save_slim(model, tmp_path, {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": 10}).read_text()
    )
    first = next(iter(doc["layers"]))
    for layers in ({first: "x"}, {first: {"type": "Conv2d", "in": -3, "out": 8, "groups": 1}}, ["stem.conv"]):
        (tmp_path / "bad.json").write_text(json.dumps(doc | {"layers": layers}))
        with pytest.raises(UserError, match=r"malformed layer sizes .*re-run `ofa-edge prune`"):
            load_slim(tmp_path / "bad.json")


def test_weights_of_another_prune_run_are_named_in_one_line(ofa_subnet, tmp_path) -> None:
    """slim.json beside another run's slim.safetensors gave torch's 'size mismatch' list, one line per tensor."""
    model, cfg = ofa_subnet
    x = torch.randn(1, 3, cfg.resolution, cfg.resolution)
    base = {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": 10}
    for name, fraction in (("a", 0.2), ("b", 0.6)):
        net = copy.deepcopy(model)
        part = partition(net, x)
        part.zero_(torch.rand(part.num_groups, generator=torch.Generator().manual_seed(1)) < fraction)
        save_slim(slim(net, part, align=1), tmp_path / name, base)
    (tmp_path / "a" / "slim.safetensors").replace(tmp_path / "b" / "slim.safetensors")
    with pytest.raises(UserError) as e:
        load_slim(tmp_path / "b" / "slim.json")
    message = str(e.value)
    assert "does not hold the network" in message and "tensors of another shape, e.g." in message
    assert "\n" not in message.strip() and "size mismatch" not in message


def test_missing_weights_name_the_file_and_the_fix(ofa_subnet, tmp_path) -> None:
    model, cfg = ofa_subnet
    path = save_slim(model, tmp_path, {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": 10})
    (tmp_path / "slim.safetensors").unlink()
    with pytest.raises(UserError, match=r"weights '.*slim\.safetensors' named by .*keep them side by side, or re-run"):
        load_slim(path)
