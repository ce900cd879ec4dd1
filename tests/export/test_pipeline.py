"""The export pipeline from Python, as docs/export.md shows it: ``resolve_inputs`` → ``ExportRequest.from_inputs``."""

from __future__ import annotations

import json

import pytest
import torch

from ofa_edge import SearchSpace, Supernet, save_supernet
from ofa_edge.errors import UserError
from ofa_edge.export import ExportRequest, export_bundle
from ofa_edge.export.formats import ExportFormat
from ofa_edge.export.inputs import resolve_inputs


def test_a_python_export_records_the_search_beside_the_subnet(tmp_path, data_root):
    """A search folder's subnet.json with its search.json: the bundle carries the search's predictions (the
    recipe built the request by hand and lost them), from a format named as a string and string paths."""
    torch.manual_seed(0)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    ckpt = tmp_path / "net.safetensors"
    save_supernet(Supernet(space, 10), ckpt)
    found = tmp_path / "search"
    found.mkdir()
    cfg = space.min(24)
    cfg.save(found / "subnet.json")
    table = {"device": "x86-cpu", "kind": "measured"}
    record = {
        "subnet": cfg.to_dict(),
        "supernet": str(ckpt),
        "device": "x86-cpu",
        "predicted": {"latency_ms": 1.25, "accuracy": 80.0},
        "latency_table": table,
        "devices": {"x86-cpu": {"budget_ms": 2.0, "predicted_ms": 1.25, "provenance": table}},
    }
    (found / "search.json").write_text(json.dumps(record))
    inputs = resolve_inputs(found / "subnet.json", str(ckpt))
    req = ExportRequest.from_inputs(inputs, format="onnx", out=str(tmp_path / "b"), data=str(data_root), bn_images=16)
    assert isinstance(req.format, ExportFormat) and req.out == tmp_path / "b"
    manifest = export_bundle(req)
    predicted = json.loads((tmp_path / "b" / "bundle.json").read_text())["predicted"]
    assert manifest["predicted"] == predicted and predicted["devices"]["x86-cpu"]["budget_ms"] == 2.0
    assert predicted["latency_ms"] == 1.25 and predicted["accuracy"] == 80.0 and predicted["device"] == "x86-cpu"


def test_a_format_name_that_does_not_exist_is_a_user_error(tmp_path):
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    with pytest.raises(UserError, match="tflite"):
        ExportRequest(format="tflite", subnet=cfg, supernet=tmp_path / "n", out=tmp_path / "b", data=tmp_path)


def _pruned_network(folder, classes: list[str]):
    """A slim.json + slim.safetensors as `ofa-edge prune` writes them (a 10-class subnet, nothing pruned)."""
    from ofa_edge.data.transforms import Preprocess
    from ofa_edge.prune import save_slim

    torch.manual_seed(0)
    space = SearchSpace.get("mbv3-w1.0-cifar")
    cfg = space.min(24)
    model = Supernet(space, 10).extract(cfg).eval()
    base = {"kind": "ofa-subnet", "subnet": cfg.to_dict(), "num_classes": 10}
    extra = {"preprocessing": Preprocess(24, space.mean, space.std).to_dict(), "classes": classes}
    return save_slim(model, folder, base, extra)


def test_a_pruned_network_whose_classes_do_not_fit_exits_2_naming_them(tmp_path, data_root):
    """Export wrote classes.txt from slim.json without a look at the network's outputs or --data's classes: a
    slim.json naming 100 classes for 10 outputs, or data of other classes, gave a bundle that misnames them."""
    from PIL import Image

    from ofa_edge.export.inputs import slim_inputs

    cifar = (data_root / "classes.txt").read_text().split()
    wrong = _pruned_network(tmp_path / "wrong", [f"c{i}" for i in range(100)])
    req = ExportRequest.from_inputs(slim_inputs(wrong), format="onnx", out=tmp_path / "b1", data=data_root)
    with pytest.raises(UserError, match=r"names 100 classes but its network gives 10 class scores"):
        export_bundle(req)
    assert not (tmp_path / "b1").exists()
    two = tmp_path / "two-classes"  # an ImageFolder tree of other classes
    for split in ("train", "test"):
        for name in ("ant", "bee"):
            (two / split / name).mkdir(parents=True)
            Image.new("RGB", (32, 32)).save(two / split / name / "0.png")
    slim = _pruned_network(tmp_path / "ok", cifar)
    req = ExportRequest.from_inputs(slim_inputs(slim), format="onnx", out=tmp_path / "b2", data=two)
    with pytest.raises(
        UserError, match=r"^data \(--data\) .* has 2 classes \(ant, bee, \.\.\.\) but the pruned network"
    ):
        export_bundle(req)
    manifest = export_bundle(
        ExportRequest.from_inputs(slim_inputs(slim), format="onnx", out=tmp_path / "b3", data=data_root)
    )
    assert (tmp_path / "b3" / "classes.txt").read_text().split() == cifar and manifest["num_classes"] == 10


def test_a_pruned_network_carries_what_prune_measured_for_it(tmp_path, data_root):
    """The bundle of a pruned network said nothing of its accuracy (predicted: null); it now carries prune's
    result.json (top-1 before and after, predicted latency) when that file is the same run's."""
    from ofa_edge.export.inputs import slim_inputs

    slim = _pruned_network(tmp_path / "run", (data_root / "classes.txt").read_text().split())
    params = json.loads(slim.read_text())["params"]
    result = {
        "method": "hesso", "target_sparsity": 0.5, "group_sparsity": 0.5, "subnet": slim_inputs(slim).subnet.to_dict(),
        "data": {"root": str(data_root), "test_images": 64}, "before": {"top1": 70.0}, "after": {"top1": 61.5, "params": params},
        "device_latency": {"device": "x86-cpu", "subnet_ms": 2.0, "pruned_ms": 1.5, "pruned_measured_ms": 1.6, "other": 1},
    }  # fmt: skip
    (tmp_path / "run" / "result.json").write_text(json.dumps(result))
    manifest = export_bundle(
        ExportRequest.from_inputs(slim_inputs(slim), format="onnx", out=tmp_path / "b", data=data_root)
    )
    p = manifest["pruning"]
    assert (p["top1"], p["top1_unpruned"], p["test_images"]) == (61.5, 70.0, 64)
    assert p["latency"] == {"device": "x86-cpu", "subnet_ms": 2.0, "pruned_ms": 1.5, "pruned_measured_ms": 1.6}
    assert "70.00% before pruning, 61.50% after" in (tmp_path / "b" / "README.md").read_text()
    result["after"]["params"] += 1  # another run's result.json (other widths): not this network's
    (tmp_path / "run" / "result.json").write_text(json.dumps(result))
    manifest = export_bundle(
        ExportRequest.from_inputs(slim_inputs(slim), format="onnx", out=tmp_path / "c", data=data_root)
    )
    assert manifest["pruning"] is None


def test_export_bundle_given_a_dict_says_it_takes_an_export_request(tmp_path):
    """``export_bundle({...})`` failed with AttributeError: 'dict' object has no attribute 'out'."""
    with pytest.raises(UserError, match=r"^export_bundle: expected an ExportRequest, got dict; pass ExportRequest\("):
        export_bundle({"format": "onnx", "out": tmp_path / "b"})  # type: ignore[arg-type]


def test_the_data_is_checked_before_the_supernet_loads(tmp_path, cifar_ckpt, monkeypatch):
    """A missing --data, or one of other classes, was found only after the supernet had loaded."""
    from PIL import Image

    from ofa_edge.export import pipeline

    def not_yet(*_args, **_kwargs):
        raise AssertionError("the supernet loaded before the data was checked")

    monkeypatch.setattr(pipeline, "load_supernet", not_yet)
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    two = tmp_path / "two-classes"
    for split in ("train", "test"):
        for name in ("ant", "bee"):
            (two / split / name).mkdir(parents=True)
            Image.new("RGB", (32, 32)).save(two / split / name / "0.png")
    for data, message in ((tmp_path / "missing", "does not exist"), (two, "has 2 classes but the network predicts 10")):
        req = ExportRequest(format="onnx", subnet=cfg, supernet=cifar_ckpt, out=tmp_path / "b", data=data)
        with pytest.raises(UserError, match=message):
            export_bundle(req)


def test_a_pruned_network_is_read_whole_from_one_prune_run(tmp_path, data_root, monkeypatch):
    """Export read slim.json, the network and result.json at different times: a prune replacing the folder in
    between gave a bundle of one run's network with another's weights hash and measurements."""
    import importlib

    import numpy as np

    from ofa_edge.export.inputs import slim_inputs
    from ofa_edge.io import file_sha256

    slim_module = importlib.import_module("ofa_edge.prune.slim")  # ofa_edge.prune.slim is also a function's name
    cifar = (data_root / "classes.txt").read_text().split()
    run = tmp_path / "run"
    slim = _pruned_network(run, cifar)
    newer = _pruned_network(tmp_path / "newer", cifar)  # another run of the same subnet, with other weights
    model, doc = slim_module.load_slim(newer), json.loads(newer.read_text())
    with torch.no_grad():
        list(model.parameters())[-1].add_(1.0)  # the classifier's bias
    slim_module.save_slim(model, newer.parent, doc["base"], {k: doc[k] for k in ("preprocessing", "classes")})
    req = ExportRequest.from_inputs(slim_inputs(slim), format="onnx", out=tmp_path / "b", data=data_root)
    real_load, calls = slim_module.load_slim, []

    def load_then_replaced(path):  # a prune replaces the folder whole right after the network was read
        model = real_load(path)
        if not calls:
            run.rename(tmp_path / "older")
            newer.parent.rename(run)
        calls.append(path)
        return model

    monkeypatch.setattr(slim_module, "load_slim", load_then_replaced)
    manifest = export_bundle(req)
    assert manifest["weights_sha256"] == file_sha256(run / "slim.safetensors") and len(calls) == 2
    ref = np.load(tmp_path / "b" / "reference.npz")
    with torch.no_grad():
        want = real_load(run / "slim.json")(torch.from_numpy(ref["inputs"])).numpy()
    np.testing.assert_allclose(ref["logits"], want, atol=1e-5)
