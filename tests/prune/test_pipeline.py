"""``prune_subnet`` from Python, as the command runs it."""

from __future__ import annotations

import errno
import json

import pytest
import torch

from ofa_edge import SearchSpace, Supernet, save_supernet
from ofa_edge.data.sample import sample_classes
from ofa_edge.errors import UserError
from ofa_edge.io import hold_lock
from ofa_edge.latency.devices import LOCAL_DEVICE
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES, embedded_supernet
from ofa_edge.prune import load_slim
from ofa_edge.prune.pipeline import prune_subnet
from ofa_edge.prune.run import PruneSettings


def test_a_prune_from_python_takes_paths_as_strings(tmp_path, data_root):
    """Every other entry point takes str paths; this one measured the unpruned subnet, then failed with
    AttributeError: 'str' object has no attribute 'resolve'."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    save_supernet(Supernet(space, 10), tmp_path / "supernet.safetensors")
    settings = PruneSettings("hesso", 0.4, epochs=1, batch_size=32)
    result = prune_subnet(
        space.min(24), str(tmp_path / "supernet.safetensors"), str(data_root), str(tmp_path / "run"), settings,
        limit_train=32, limit_test=32,
    )  # fmt: skip
    assert result["supernet"] == str(tmp_path / "supernet.safetensors")
    load_slim(tmp_path / "run" / "slim.json")


def test_a_subnet_of_another_space_names_no_flag_from_python(tmp_path, data_root):
    """It said 'or --supernet trained on ...', a flag a Python caller never gave."""
    cfg = SearchSpace.get("mbv3-w1.2-cifar").min()
    with pytest.raises(UserError, match=r"or a supernet trained on 'mbv3-w1.2-cifar' \(--supernet\)"):
        prune_subnet(cfg, embedded_supernet(), data_root, tmp_path / "out", PruneSettings("hesso", 0.5, 1))


def test_data_of_other_classes_is_pruned_on_and_the_log_says_the_head_retrains(tmp_path, renamed_sample):
    """Pruning trains, so other classes are a transfer, not a mistake (unlike eval or export); said, not refused."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = tmp_path / "supernet.safetensors"
    save_supernet(Supernet(space, 10), net, metadata={"training": {"classes": sample_classes()}})
    said: list[str] = []
    settings = PruneSettings("hesso", 0.4, epochs=1, batch_size=32)
    data = renamed_sample({"ship": "boat"})
    result = prune_subnet(
        space.min(24), net, data, tmp_path / "run", settings, limit_train=32, limit_test=32, log=said.append
    )
    assert any("names other classes than the supernet learned" in line for line in said), said
    assert "boat" in json.loads((tmp_path / "run" / "slim.json").read_text())["classes"]
    assert result["data"]["train_images"] == 32


def test_a_tree_without_test_is_scored_on_val_and_says_so(tmp_path, cifar_imagefolder):
    """A tree with train/ and val/ is scored on val/, as eval scores it; the log and result.json called those
    images "test"."""
    import shutil

    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    save_supernet(Supernet(space, 10), tmp_path / "supernet.safetensors")
    shutil.copytree(cifar_imagefolder / "train", tmp_path / "tree" / "train")
    shutil.copytree(cifar_imagefolder / "test", tmp_path / "tree" / "val")
    said: list[str] = []
    settings = PruneSettings("hesso", 0.4, epochs=1, batch_size=10)
    result = prune_subnet(
        space.min(24), tmp_path / "supernet.safetensors", tmp_path / "tree", tmp_path / "run", settings, log=said.append
    )
    assert (result["data"]["test_images"], result["data"]["test_split"]) == (10, "val")
    assert any(line.endswith("; 20 train / 10 val images") for line in said), said


def test_a_run_exports_each_network_once_and_reads_the_supernet_metadata_once(tmp_path, data_root, monkeypatch):
    """The unpruned and the pruned network were exported twice each (for the ONNX Runtime top-1, then for the
    latency and model.onnx), then once more each by the local device's timer (its backend's own export), and the
    checkpoint's metadata read three times; the exports still really run."""
    from ofa_edge.export import onnx_export
    from ofa_edge.latency.backends import base
    from ofa_edge.supernet import evaluate, metadata, ort_forward

    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = tmp_path / "supernet.safetensors"
    save_supernet(Supernet(space, 10), net)
    exported: list[torch.nn.Module] = []
    for module in (onnx_export, ort_forward, base):
        real = module.torch_to_onnx
        monkeypatch.setattr(module, "torch_to_onnx", lambda m, *a, _f=real, **k: exported.append(m) or _f(m, *a, **k))
    reads: list[object] = []
    real_open = metadata.safe_open
    monkeypatch.setattr(metadata, "safe_open", lambda *a, **k: reads.append(a) or real_open(*a, **k))
    monkeypatch.setattr(evaluate, "MIN_IMAGES", 1)  # top-1 on ONNX Runtime, as from 1,000 test images on
    settings = PruneSettings("hesso", 0.4, epochs=1, batch_size=32)
    local = LatencyTable.load(SHIPPED_TABLES / f"{LOCAL_DEVICE}.json")  # timed here too, on its backend
    del local.provenance["speed_reference"]  # whose reference subnets the timer exports too
    result = prune_subnet(
        space.min(24), net, data_root, tmp_path / "run", settings, limit_train=32, limit_test=32, latency_table=local
    )
    assert result["after"]["latency_device"]["median_ms"] > 0
    # the unpruned subnet, the pruned network, and the group-sparse one (the unpruned one trained; its top-1 alone)
    assert len(exported) == 3 and exported[0] is exported[2] is not exported[1]
    assert len(reads) == 1
    assert result["after"]["top1"] == result["after"]["top1_group_sparse_model"]  # the same function, two exports
    assert result["onnx_max_abs_diff"] <= 1e-4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"cfg": SearchSpace.get("mbv3-w1.0-cifar").min().to_dict()}, r"cfg: expected a SubnetConfig, got dict"),
        ({"settings": {"method": "hesso"}}, r"settings: expected a PruneSettings, got dict"),
    ],
)
def test_a_dict_for_the_subnet_or_settings_is_a_user_error(tmp_path, args, message):
    """A subnet dict (or settings dict) from Python failed with AttributeError: 'dict' object has no attribute."""
    call = {"cfg": SearchSpace.get("mbv3-w1.0-cifar").min(), "settings": PruneSettings("hesso", 0.5, 1)} | args
    with pytest.raises(UserError, match=rf"^prune_subnet: {message}"):
        prune_subnet(call["cfg"], embedded_supernet(), tmp_path, tmp_path / "out", call["settings"])
    assert not (tmp_path / "out").exists()


def test_a_locked_output_folder_names_the_parameter_and_its_flag(tmp_path, data_root):
    """A Python caller was told to choose another output folder '(--out)', a flag it never passes."""
    out = tmp_path / "run"
    with hold_lock(tmp_path / ".run.lock", "held by the first"), pytest.raises(UserError) as refused:
        prune_subnet(SearchSpace.get("mbv3-w1.0-cifar").min(), embedded_supernet(), data_root, out,
                     PruneSettings("hesso", 0.5, 1))  # fmt: skip
    assert str(refused.value).endswith("or choose another output folder (out_dir (--out)).")


def test_a_run_that_fails_at_its_first_checkpoint_leaves_no_out_folder_it_made(
    tmp_path, data_root, fill_disk, full_disk
):
    """A full disk at the first checkpoint left an empty --out (and the folder made above it) behind."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    save_supernet(Supernet(space, 10), tmp_path / "supernet.safetensors")
    fill_disk(64 * 1024)  # room for the lock, not for a checkpoint
    settings = PruneSettings("hesso", 0.4, epochs=1, batch_size=32)
    with pytest.raises(OSError) as e:
        prune_subnet(
            space.min(24), tmp_path / "supernet.safetensors", data_root, full_disk / "runs" / "run", settings,
            limit_train=32, limit_test=32,
        )  # fmt: skip
    assert e.value.errno == errno.ENOSPC
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]
