"""Every lever's state round-trips through one safetensors file (checkpoint/resume)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors import safe_open

from ofa_edge.errors import UserError
from ofa_edge.supernet.network import Supernet
from ofa_edge.train.spfde import (
    CircularSieve,
    FreezeConfig,
    LayerFreezer,
    SieveConfig,
    SparseMasks,
    SparsityConfig,
    load_levers,
    save_levers,
)

SPACE = "mbv3-w1.0-cifar"


def _levers(net, pattern="2:4"):
    return {
        "sparsity": SparseMasks(net, SparsityConfig(0.5, pattern, grow="random"), seed=3),
        "freezing": LayerFreezer(net, FreezeConfig(start=2, interval=2, flops_target=0.1), epochs=30),
        "sieving": CircularSieve(500, SieveConfig(0.2, 2), seed=4),
    }


def test_round_trip_continues_identically(tmp_path):
    torch.manual_seed(0)
    net = Supernet(SPACE)
    levers = _levers(net)
    rng = np.random.default_rng(0)
    act = levers["sieving"].active_indices()
    levers["sieving"].record(act, torch.from_numpy(rng.random(len(act)) < 0.5))
    levers["sieving"].sieve()
    levers["sieving"].record(act[:100], torch.ones(100, dtype=torch.bool))
    levers["sparsity"].update(net, 0.3)
    levers["freezing"].step(net, epoch=5)
    path = tmp_path / "spfde.safetensors"
    save_levers(path, levers, extra={"saved_flops_freezing": 1.5e12})
    with safe_open(str(path), framework="pt") as f:
        assert f.get_tensor("sparsity/mask.blocks.3.proj.weight").dtype == torch.bool
        assert json.loads(f.metadata()["ofa_edge"])["levers"]["freezing"]["frozen"] == 2

    torch.manual_seed(0)
    net2 = Supernet(SPACE)
    restored = _levers(net2)
    restored["sieving"] = CircularSieve(500, SieveConfig(0.2, 2), seed=99)  # different RNG: must be overwritten
    extra = load_levers(path, restored)
    assert extra == {"saved_flops_freezing": 1.5e12}
    for k, m in levers["sparsity"].masks.items():
        assert torch.equal(m, restored["sparsity"].masks[k])
    assert restored["freezing"].frozen == 2 and restored["freezing"].plan == levers["freezing"].plan
    a, b = levers["sieving"], restored["sieving"]
    for field in ("active", "queue", "last", "forgets", "learned"):
        assert np.array_equal(getattr(a, field), getattr(b, field)), field
    # the future is the same too: next sieve and next random regrowth
    assert np.array_equal(a.sieve(), b.sieve())
    net2.load_state_dict(net.state_dict())
    restored["freezing"].step(net2, epoch=5)  # what the trainer does on resume
    levers["sparsity"].update(net, 0.3)
    restored["sparsity"].update(net2, 0.3)
    for k, m in levers["sparsity"].masks.items():
        assert torch.equal(m, restored["sparsity"].masks[k])


def test_mismatched_settings_are_user_errors(tmp_path):
    net = Supernet(SPACE)
    path = tmp_path / "s.safetensors"
    save_levers(path, _levers(net))
    with pytest.raises(UserError, match="sparsity settings"):
        load_levers(path, _levers(net, pattern="unstructured") | {"sparsity": SparseMasks(net, SparsityConfig(0.7))})
    with pytest.raises(UserError, match="levers"):
        load_levers(path, {"sieving": CircularSieve(500, SieveConfig(0.2, 2))})
    (tmp_path / "bad.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read"):
        load_levers(tmp_path / "bad.safetensors", _levers(net))
