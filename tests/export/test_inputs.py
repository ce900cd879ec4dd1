"""What an export is given: a pruned network's weights file is pointed at its slim.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from ofa_edge.errors import UserError, for_cli
from ofa_edge.export.inputs import slim_inputs


def test_slim_weights_file_points_at_its_description(tmp_path) -> None:
    weights = tmp_path / "slim.safetensors"
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(UserError, match=r"as slim \(--slim\): .*slim\.json"):
        slim_inputs(weights)


def test_a_file_that_is_no_slim_json_is_named_with_what_it_is(tmp_path) -> None:
    """A binary file as slim put Python's "'utf-8' codec can't decode" in the message; it says what the file is."""
    other = tmp_path / "notes.bin"
    other.write_bytes(bytes(range(256)))
    with pytest.raises(UserError, match=r"'.*notes\.bin' is not a pruned network's slim\.json \(it is binary\)") as e:
        slim_inputs(other)
    assert "codec" not in str(e.value) and "the one `ofa-edge prune` wrote" in str(e.value)
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07\x12\x07pytorch")  # ONNX's protobuf, which decodes as text
    (tmp_path / "slim.json").write_text("{}")
    with pytest.raises(UserError, match=rf"\(it is an ONNX model\); pass .*slim\.json \({tmp_path}/slim\.json, beside"):
        slim_inputs(onnx)
    broken = tmp_path / "edited.json"
    broken.write_text("{x")
    with pytest.raises(UserError, match=r"is not valid JSON \(Expecting property name"):
        slim_inputs(broken)


def test_a_slim_description_without_its_classes_is_named(tmp_path) -> None:
    """Export reads the class names and preprocessing from slim.json: a hand-edited one lacking them
    was a KeyError deep in the export."""
    import json

    from ofa_edge.space import SearchSpace

    doc = {
        "base": {"kind": "ofa-subnet", "subnet": SearchSpace.get("mbv3-w1.0-cifar").min().to_dict()},
        "preprocessing": {"resolution": 24, "mean": [0.5] * 3, "std": [0.25] * 3},
    }
    path = tmp_path / "slim.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=r"lacks classes .*re-run `ofa-edge prune`"):
        slim_inputs(path)
    path.write_text(json.dumps(doc | {"classes": ["a", "b"]}))
    assert slim_inputs(path).subnet.resolution == 24
    from ofa_edge.export import ExportRequest

    req = ExportRequest.from_inputs(slim_inputs(path), format="onnx", out=tmp_path / "b", data=tmp_path)
    assert req.slim == path  # exported as the pruned network, not read as a supernet checkpoint
    inputs = slim_inputs(tmp_path)  # prune's --out folder, as --subnet takes a search's (it was 'Is a directory')
    assert inputs.slim == path and inputs.notes[0] == f"slim (--slim) {tmp_path} is a folder: using the slim.json in it"
    assert for_cli(inputs.notes[0]) == f"--slim {tmp_path} is a folder: using the slim.json in it"
    path.unlink()
    with pytest.raises(UserError, match=r"^slim \(--slim\) '.*' is a folder without slim\.json; pass the slim\.json"):
        slim_inputs(tmp_path)


def test_a_slim_descriptions_preprocessing_is_checked(tmp_path) -> None:
    """An empty or edited preprocessing record was a KeyError, or an ONNX Runtime shape error, mid-export."""
    import json

    from ofa_edge.space import SearchSpace

    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    path = tmp_path / "slim.json"
    good = {"resolution": cfg.resolution, "mean": [0.5] * 3, "std": [0.25] * 3}
    for preprocessing, message in (
        ({}, "preprocessing lacks resolution"),
        (good | {"resolution": 32}, "resolution 32"),
    ):
        doc = {
            "base": {"kind": "ofa-subnet", "subnet": cfg.to_dict()},
            "classes": ["a"],
            "preprocessing": preprocessing,
        }
        path.write_text(json.dumps(doc))
        with pytest.raises(UserError, match=rf"{message}.*re-run `ofa-edge prune`"):
            slim_inputs(path)


def test_a_search_predicted_accuracy_goes_only_with_its_own_supernet(tmp_path, monkeypatch) -> None:
    """A subnet searched on one supernet and exported from another keeps its predicted latency, not its accuracy."""
    import json

    import torch

    from ofa_edge import SearchSpace, Supernet, save_supernet
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.space import CostModel

    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    searched, other = tmp_path / "searched.safetensors", tmp_path / "other.safetensors"
    save_supernet(Supernet(space, 10), searched)
    save_supernet(Supernet(space, 10), other)
    predicted = {"latency_ms": 2.0, "accuracy": 82.0, **CostModel(space, 10).counts(space.min())}  # as counted
    doc = {"subnet": space.min().to_dict(), "supernet": str(searched), "device": "x86-cpu", "predicted": predicted}
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "last_search.json").write_text(json.dumps(doc))
    device = {"x86-cpu": {"latency_ms": 2.0, "kind": "unknown", "budget_ms": None, "latency_table": {}}}
    assert resolve_inputs(None, None).predicted == predicted | {"devices": device}  # a record without its table
    assert resolve_inputs(None, searched).predicted == predicted | {"devices": device}
    mine = resolve_inputs(None, other)
    assert "accuracy" not in mine.predicted and mine.predicted["latency_ms"] == 2.0
    assert mine.predicted["devices"] == device
    assert any("predicted accuracy is for its supernet" in n for n in mine.prediction_notes)
    assert not any("predicted accuracy" in n for n in mine.notes)  # eval and prune print notes only


def test_a_subnet_of_the_last_searchs_top_k_is_exported_by_its_id(tmp_path, monkeypatch) -> None:
    """`export --subnet ID` takes the subnet of that id in the last search's top-k (the id column of its table),
    with the search's supernet and that row's predictions (none from a record before rows had them)."""
    import json

    import torch

    from ofa_edge import SearchSpace, Supernet, save_supernet
    from ofa_edge.errors import UserError
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.space import CostModel

    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    searched = tmp_path / "searched.safetensors"
    save_supernet(Supernet(space, 10), searched)
    first, second = space.max(), space.min()
    doc = {
        "subnet": first.to_dict(),
        "supernet": str(searched),
        "device": "x86-cpu",
        "predicted": {"latency_ms": 2.0, "accuracy": 82.0},
        "devices": {"x86-cpu": {"predicted_ms": 2.0, "budget_ms": 3.0, "provenance": {"kind": "measured"}}},
        "latency_table": {"kind": "measured"},
        "top_k": [{"rank": i + 1, "id": c.short_id(), "subnet": c.to_dict()} for i, c in enumerate((first, second))],
    }
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "last_search.json").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    chosen = resolve_inputs(first.short_id(), None)
    assert chosen.subnet == first and chosen.supernet == searched and chosen.predicted["accuracy"] == 82.0
    other = resolve_inputs(second.short_id(), None)
    assert other.subnet == second and other.supernet == searched and "(#2)" in other.subnet_source
    assert "accuracy" not in other.predicted and "latency_ms" not in other.predicted
    assert other.last_search.latency_table == {"kind": "measured"}  # the device's table still tells the precision
    assert any(
        f"none go with {second.short_id()}" in n for n in other.prediction_notes
    )  # a record before rows had them
    rows = [{"latency_ms": {"x86-cpu": 2.0}, "accuracy": 82.0}, {"latency_ms": {"x86-cpu": 0.9}, "accuracy": 61.5}]
    doc["top_k"] = [r | p | {"macs": 1, "params": 1} for r, p in zip(doc["top_k"], rows, strict=True)]
    (tmp_path / "home" / "last_search.json").write_text(json.dumps(doc))
    other = resolve_inputs(second.short_id(), None)  # a search of today: each row records its predictions
    assert other.predicted["accuracy"] == 61.5 and other.predicted["latency_ms"] == 0.9
    assert other.predicted["macs"] == CostModel(space, 10).counts(second)["macs"]  # counted again, as for #1
    assert other.predicted["devices"]["x86-cpu"] == {
        "latency_ms": 0.9, "kind": "measured", "budget_ms": 3.0, "latency_table": {"kind": "measured"}
    }  # fmt: skip
    assert not any("none go with" in n for n in other.prediction_notes)
    doc["predicted"].pop("accuracy")  # ranked by a proxy: no row's accuracy is one
    (tmp_path / "home" / "last_search.json").write_text(json.dumps(doc))
    assert "accuracy" not in resolve_inputs(second.short_id(), None).predicted
    with pytest.raises(
        UserError,
        match=f"^subnet \\(--subnet\\) abcdef: no such file, and no subnet of the last search's top-k has that id .ids: {first.short_id()}, ",
    ):
        resolve_inputs("abcdef", None)


def test_a_bundles_subnet_is_exported_from_the_bundles_supernet(tmp_path, monkeypatch) -> None:
    """The bundle's README says `ofa-edge export --subnet subnet.json` reproduces it: that took the embedded supernet."""
    import json

    from ofa_edge import SearchSpace, Supernet, save_supernet
    from ofa_edge.export.inputs import resolve_inputs

    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "home"))  # no last search
    space = SearchSpace.get("mbv3-w1.0-cifar")
    mine, bundle = tmp_path / "mine.safetensors", tmp_path / "bundle"
    save_supernet(Supernet(space, 10), mine)
    bundle.mkdir()
    space.min().save(bundle / "subnet.json")
    (bundle / "bundle.json").write_text(json.dumps({"subnet": space.min().to_dict(), "supernet": str(mine)}))
    found = resolve_inputs(bundle / "subnet.json", None)
    assert found.supernet == mine
    said = f"the supernet the bundle of subnet (--subnet) was exported from, {mine}"
    assert f"no supernet (--supernet): using {said}" in found.notes  # a Python caller passes fields, not flags
    assert f"no --supernet: using {said.replace('subnet (--subnet)', '--subnet')}" in map(for_cli, found.notes)
    assert resolve_inputs(bundle / "subnet.json", mine).supernet == mine
    monkeypatch.chdir(tmp_path)  # a relative --subnet is recorded as the absolute path, as bundle.json's others
    assert resolve_inputs(Path("bundle/subnet.json"), None).subnet_source == str(bundle / "subnet.json")


def test_the_supernets_metadata_is_read_once(tmp_path, monkeypatch) -> None:
    """resolve_inputs read the checkpoint's header twice: for the subnet's space, then for its classes."""
    from ofa_edge import SearchSpace, Supernet, save_supernet
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.supernet import metadata

    space = SearchSpace.get("mbv3-w1.0-cifar")
    net = tmp_path / "net.safetensors"
    save_supernet(Supernet(space, 10), net)
    space.min().save(tmp_path / "subnet.json")
    opened = []
    real = metadata.safe_open
    monkeypatch.setattr(metadata, "safe_open", lambda path, **kw: opened.append(path) or real(path, **kw))
    assert resolve_inputs(tmp_path / "subnet.json", net).supernet == net
    assert opened == [str(net)]
