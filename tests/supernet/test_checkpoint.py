"""Checkpoints: safetensors + JSON metadata, exact round trip, refusals that say why, no pickle."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ofa_edge.errors import UserError
from ofa_edge.space import SearchSpace, SubnetConfig
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.checkpoint import load_subnet, load_supernet, save_supernet
from ofa_edge.supernet.metadata import FORMAT, read_metadata

CIFAR = SearchSpace.get("mbv3-w1.0-cifar")


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> tuple[Supernet, Path]:
    torch.manual_seed(0)
    net = Supernet(CIFAR, num_classes=10, kernel_transform=True)
    with torch.no_grad():  # non-default values everywhere, so a lost tensor shows
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.01)
    path = tmp_path_factory.mktemp("ckpt") / "supernet.safetensors"
    save_supernet(net, path, {"training": {"method": "deps", "epochs": 3}})
    return net.eval(), path


@pytest.fixture()
def no_pickle(monkeypatch) -> None:
    """Fail loudly if anything tries to unpickle while loading."""

    def refuse(*_a, **_k):
        raise AssertionError("checkpoint loading unpickled something")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)


def _outputs(net: Supernet, seed: int = 3) -> list[torch.Tensor]:
    rng = np.random.default_rng(seed)
    outs = []
    with torch.no_grad():
        for cfg in (CIFAR.max(resolution=24), CIFAR.min(), CIFAR.sample(rng)):
            net.set_active(cfg)
            outs.append(net(torch.ones(1, 3, cfg.resolution, cfg.resolution)))
    return outs


def test_round_trip_is_exact(saved, no_pickle) -> None:
    net, path = saved
    loaded = load_supernet(path).eval()
    assert loaded.kernel_transform and loaded.num_classes == 10 and loaded.space == CIFAR
    got = loaded.state_dict()
    for k, v in net.state_dict().items():
        assert torch.equal(got[k], v), k
    for a, b in zip(_outputs(net), _outputs(loaded), strict=True):
        assert torch.equal(a, b)


def test_metadata_rides_in_the_header(saved) -> None:
    _, path = saved
    meta = read_metadata(path)
    assert meta["format"] == FORMAT and meta["space"] == CIFAR.name and meta["num_classes"] == 10
    assert meta["preprocessing"] == {"mean": list(CIFAR.mean), "std": list(CIFAR.std)}
    assert meta["training"] == {"method": "deps", "epochs": 3}
    assert load_supernet(path).metadata["training"]["method"] == "deps"


def test_fp16_checkpoint_is_half_the_size_and_loads_as_fp32(saved, tmp_path, no_pickle) -> None:
    net, path = saved
    half = tmp_path / "half.safetensors"
    save_supernet(net, half, dtype=torch.float16)
    assert half.stat().st_size < 0.55 * path.stat().st_size
    loaded = load_supernet(half).eval()
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert loaded.blocks[0].expand_bn.num_batches_tracked.dtype == torch.int64
    for a, b in zip(_outputs(net), _outputs(loaded), strict=True):
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.05 * a.abs().max().item())


@pytest.mark.parametrize("keep", [0, 7, 100, 0.5, -1])
def test_truncated_file_is_refused(saved, tmp_path, keep: float) -> None:
    _, path = saved
    data = path.read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    bad = tmp_path / "truncated.safetensors"
    bad.write_bytes(data[:n])
    with pytest.raises(UserError, match="truncated"):
        load_supernet(bad)


def test_foreign_safetensors_file_is_refused(tmp_path) -> None:
    foreign = tmp_path / "model.safetensors"
    save_file({"weight": torch.zeros(3, 3)}, str(foreign))
    with pytest.raises(UserError, match="not an ofa-edge supernet .*; pass one that `ofa-edge train` wrote") as e:
        load_supernet(foreign)
    assert "--" not in str(e.value)  # Python callers get it too
    other_meta = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, str(other_meta), metadata={"ofa_edge": json.dumps({"format": "x/9"})})
    with pytest.raises(UserError, match="format 'x/9'"):
        load_supernet(other_meta)
    for meta in ("[1, 2]", "{not json", json.dumps({"format": FORMAT, "space": CIFAR.name})):
        save_file({"weight": torch.zeros(3)}, str(other_meta), metadata={"ofa_edge": meta})
        with pytest.raises(UserError, match="corrupt ofa-edge metadata"):
            load_supernet(other_meta)


def test_a_pruned_networks_weights_name_its_slim_json(tmp_path) -> None:
    """prune's slim.safetensors given as a supernet was called a foreign file; it points to its slim.json."""
    weights = tmp_path / "slim.safetensors"
    save_file({"weight": torch.zeros(3)}, str(weights))
    (tmp_path / "slim.json").write_text(json.dumps({"base": {}, "weights": weights.name}))
    with pytest.raises(UserError, match="holds the weights of a network `ofa-edge prune` slimmed") as e:
        read_metadata(weights)
    assert f"`ofa-edge eval --slim {tmp_path / 'slim.json'}`" in str(e.value)
    (tmp_path / "slim.json").write_text(json.dumps({"weights": "other.safetensors"}))  # not its description
    with pytest.raises(UserError, match="not an ofa-edge supernet .no 'ofa_edge' metadata"):
        read_metadata(weights)


def test_declared_space_with_wrong_tensors_is_refused(tmp_path) -> None:
    meta = {"format": FORMAT, "space": CIFAR.name, "num_classes": 10}
    bad = tmp_path / "lies.safetensors"
    save_file({"weight": torch.zeros(3)}, str(bad), metadata={"ofa_edge": json.dumps(meta)})
    with pytest.raises(UserError, match="does not match its declared space 'mbv3-w1.0-cifar'"):
        load_supernet(bad)


@pytest.mark.parametrize("junk", [b"", b"PK\x03\x04 not a checkpoint", pickle.dumps({"a": 1}), b"\xff" * 64])
def test_junk_file_is_refused(tmp_path, junk: bytes, no_pickle) -> None:
    bad = tmp_path / "junk.safetensors"
    bad.write_bytes(junk)
    with pytest.raises(UserError, match="not a readable safetensors checkpoint"):
        load_supernet(bad)


def test_missing_file_or_folder_is_refused_without_naming_a_flag(tmp_path) -> None:
    """From Python they said '(--supernet PATH)', a flag the caller never gave."""
    with pytest.raises(UserError, match="does not exist; check the path, or pass a .safetensors checkpoint") as e:
        load_supernet(tmp_path / "nope.safetensors")
    with pytest.raises(UserError, match="is a folder; pass the .safetensors file in it") as f:
        load_supernet(tmp_path)
    assert "--" not in str(e.value) + str(f.value)


def test_wrong_space_or_class_count_is_refused_naming_which(saved) -> None:
    _, path = saved
    with pytest.raises(UserError, match="is for space 'mbv3-w1.0-cifar', not 'mbv3-w1.0-imagenet'"):
        load_supernet(path, space="mbv3-w1.0-imagenet")
    with pytest.raises(UserError, match="has 10 classes, not 100"):
        load_supernet(path, num_classes=100)
    assert load_supernet(path, space=CIFAR.name, num_classes=10).num_classes == 10
    assert load_supernet(path, space=CIFAR, num_classes=np.int64(10)).num_classes == 10  # as Supernet takes them


@pytest.mark.parametrize("device", [torch.device("cpu"), "cpu:0"], ids=str)
def test_load_takes_any_spelling_of_the_cpu(saved, device) -> None:
    net, path = saved
    loaded = load_supernet(path, device=device)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values()))


def test_failed_save_writes_nothing(saved, tmp_path) -> None:
    net, _ = saved
    target = tmp_path / "out.safetensors"
    with pytest.raises(UserError, match="JSON-serialisable"):
        save_supernet(net, target, {"bad": object()})
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_a_folder_another_module_and_bad_metadata(saved, tmp_path) -> None:
    net, _ = saved
    with pytest.raises(UserError, match="is a folder; pass a file path"):
        save_supernet(net, tmp_path)
    with pytest.raises(UserError, match="expected a Supernet, got Linear"):
        save_supernet(torch.nn.Linear(2, 2), tmp_path / "x.safetensors")
    with pytest.raises(UserError, match="JSON-serialisable"):
        save_supernet(net, tmp_path / "x.safetensors", {"when": object()})
    # a header claiming another space would load these weights as that space's (same tensor shapes)
    with pytest.raises(UserError, match=r"metadata \['space'\] would contradict the network"):
        save_supernet(net, tmp_path / "x.safetensors", {"space": "mbv3-w1.0-imagenet"})
    with pytest.raises(UserError, match="dtype must be a floating torch dtype.*got torch.int8"):
        save_supernet(net, tmp_path / "x.safetensors", dtype=torch.int8)
    with pytest.raises(UserError, match="dtype must be a floating torch dtype.*got 'float16'"):
        save_supernet(net, tmp_path / "x.safetensors", dtype="float16")
    for bad in (["space"], "abc"):
        with pytest.raises(UserError, match="metadata must be a dict"):
            save_supernet(net, tmp_path / "x.safetensors", bad)
    with pytest.raises(UserError, match="path must be a file path"):
        save_supernet(net, None)
    assert list(tmp_path.iterdir()) == []
    save_supernet(net, tmp_path / "same.safetensors", {"space": CIFAR.name})  # agreeing is fine


def test_a_torch_pickle_is_named_and_never_unpickled(tmp_path, no_pickle) -> None:
    path, pickle_bytes = tmp_path / "supernet.pt", tmp_path / "legacy.pt"
    torch.save({"w": torch.zeros(2)}, path)  # no_pickle refuses loading only
    pickle_bytes.write_bytes(pickle.dumps({"w": [0.0]}))
    for p in (path, pickle_bytes):
        with pytest.raises(UserError, match=r"looks like a PyTorch pickle \(torch.save\).*never unpickles"):
            load_supernet(p)


def test_load_refuses_bad_arguments_before_reading(saved) -> None:
    _, path = saved
    with pytest.raises(UserError, match="is not a torch device"):
        load_supernet(path, device="bogus")
    with pytest.raises(UserError, match="num_classes must be an integer"):
        load_supernet(path, num_classes="10")
    with pytest.raises(UserError, match="must be a str or Path, got NoneType"):
        load_supernet(None)
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA GPU"):
            load_supernet(path, device="cuda")


def test_load_subnet_reads_an_ofa_dict_in_the_supernets_space(tmp_path: Path) -> None:
    """A once-for-all arch dict names no space: SubnetConfig.load alone reads it in ImageNet's."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    save_supernet(Supernet(space, 10), tmp_path / "sn.safetensors")
    cfg = space.min(32)
    (tmp_path / "ofa.json").write_text(json.dumps(cfg.to_ofa_dict()))
    assert load_subnet(tmp_path / "ofa.json", tmp_path / "sn.safetensors") == cfg
    with pytest.raises(UserError, match=r"r: 32 is not in space mbv3-w1.0-imagenet \(128, 144"):
        SubnetConfig.load(tmp_path / "ofa.json")
