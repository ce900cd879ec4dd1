"""Training checkpoints round-trip the whole state; a damaged file is a clear error, never a crash."""

from __future__ import annotations

import errno
import re

import pytest
import torch

from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.train.checkpointing import checkpoint_bytes, load_checkpoint, save_checkpoint, state_bytes
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.optim import make_optimizer

SPACE = SearchSpace.get("mbv3-w1.0-cifar")
CFG = TrainConfig(data="x", out="y", lr=0.1)


def _trained(largest: bool = False) -> tuple[Supernet, torch.optim.Optimizer]:
    """A supernet after one step of its smallest subnet (or, ``largest``, of every weight: all have momentum)."""
    torch.manual_seed(0)
    net = Supernet(SPACE, 10)
    opt = make_optimizer(net, CFG)
    net.set_max() if largest else net.set_min()
    net(torch.randn(2, 3, 32 if largest else 24, 32 if largest else 24)).sum().backward()
    opt.step()
    return net, opt


def test_round_trip(tmp_path) -> None:
    net, opt = _trained()
    order = torch.randperm(50)
    save_checkpoint(tmp_path / "c.safetensors", net, opt, {"it": 7, "note": "x"}, order)
    torch.manual_seed(1)
    net2 = Supernet(SPACE, 10)
    opt2 = make_optimizer(net2, CFG)
    state, order2 = load_checkpoint(tmp_path / "c.safetensors", net2, opt2)
    assert state == {"it": 7, "note": "x"} and torch.equal(order, order2)
    for (k, a), b in zip(net.state_dict().items(), net2.state_dict().values()):
        assert torch.equal(a, b), k
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"] and s1["state"].keys() == s2["state"].keys()
    for i in s1["state"]:
        assert torch.equal(s1["state"][i]["momentum_buffer"], s2["state"][i]["momentum_buffer"])


def test_truncated_checkpoint_is_a_user_error(tmp_path) -> None:
    net, opt = _trained()
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, net, opt, {"it": 1}, torch.arange(4))
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(UserError, match="not a readable"):
        load_checkpoint(path, net, opt)


def test_a_training_checkpoint_given_as_a_supernet_names_the_file_to_pass(tmp_path) -> None:
    """``eval``/``search``/``export --supernet RUNDIR/checkpoint.safetensors`` said only "not an ofa-edge
    supernet (no 'ofa_edge' metadata)"; it now says what the file is and which one to pass."""
    net, opt = _trained()
    path = tmp_path / "run" / "checkpoint.safetensors"
    path.parent.mkdir()
    save_checkpoint(path, net, opt, {"it": 1}, torch.arange(4))
    said = r"training checkpoint .* pass the supernet\.safetensors beside it, .* `ofa-edge train --resume --out "
    with pytest.raises(UserError, match=said + re.escape(str(path.parent))):
        load_supernet(path)


def test_a_full_disk_is_an_os_error_naming_the_checkpoint_and_leaves_no_temp(full_disk) -> None:
    """safetensors' own writer raised a SafetensorError on a full disk: train and prune exited 1, an internal
    error, instead of 2 naming the file (every safetensors file is now written through io.atomic_write_bytes)."""
    net, opt = _trained()
    path = full_disk / "checkpoint.safetensors"
    with pytest.raises(OSError) as full:
        save_checkpoint(path, net, opt, {"it": 1}, torch.arange(4))
    assert full.value.errno == errno.ENOSPC and full.value.filename == str(path)
    assert list(full_disk.iterdir()) == []


def test_the_size_estimate_is_a_trained_checkpoint_s_and_the_supernet_s(tmp_path) -> None:
    """Train refuses a disk too small for its checkpoints by this estimate: once every weight has a momentum buffer
    (the largest subnet trained), a checkpoint and a supernet file are within 2 % of it."""
    net, opt = _trained(largest=True)
    save_checkpoint(tmp_path / "c.safetensors", net, opt, {"it": 1}, torch.arange(500))
    assert (tmp_path / "c.safetensors").stat().st_size == pytest.approx(checkpoint_bytes(net, 500), rel=0.02)
    from ofa_edge.supernet.checkpoint import save_supernet

    save_supernet(net, tmp_path / "s.safetensors", {})
    assert (tmp_path / "s.safetensors").stat().st_size == pytest.approx(state_bytes(net), rel=0.02)
