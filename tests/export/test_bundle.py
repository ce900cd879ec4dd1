"""Where a bundle may be written and what it is called (its staged write: tests/test_io.py)."""

from __future__ import annotations

import json

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.bundle import bundle_supernet, check_output_dir, default_bundle_name
from ofa_edge.io import file_sha256
from ofa_edge.space import SearchSpace


def test_refuses_foreign_folders_and_unwritable_places(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(UserError, match="not an ofa-edge bundle"):
        check_output_dir(tmp_path / "mine")
    (tmp_path / "f").write_text("")
    with pytest.raises(UserError, match="is a file"):
        check_output_dir(tmp_path / "f")
    with pytest.raises(UserError, match="cannot write"):
        check_output_dir(tmp_path / "f" / "bundle")


def test_default_name_tells_subnets_and_weights_apart(tmp_path):
    name = default_bundle_name("mbv3-w1.0-cifar", 28, '{"a": 1}', tmp_path / "w.safetensors", "engine")
    assert name.startswith("mbv3-w1.0-cifar-r28-") and name.endswith("-engine")
    assert name == default_bundle_name("mbv3-w1.0-cifar", 28, '{"a": 1}', tmp_path / "w.safetensors", "engine")
    assert name != default_bundle_name("mbv3-w1.0-cifar", 28, '{"a": 2}', tmp_path / "w.safetensors", "engine")
    assert name != default_bundle_name("mbv3-w1.0-cifar", 28, '{"a": 1}', tmp_path / "v.safetensors", "engine")


def test_a_bundles_subnet_names_the_supernet_it_was_exported_from(tmp_path, monkeypatch):
    """`eval`/`export --subnet bundle/subnet.json` (as the bundle's README says) took the embedded supernet, whatever
    the bundle was exported from: the subnet.json now carries its bundle's supernet, found by path or by hash."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    bundle, weights = tmp_path / "bundle", tmp_path / "mine.safetensors"
    bundle.mkdir()
    weights.write_bytes(b"my weights")
    cfg = space.min()
    cfg.save(bundle / "subnet.json")
    manifest = {"subnet": cfg.to_dict(), "supernet": str(weights), "weights_sha256": file_sha256(weights)}
    (bundle / "bundle.json").write_text(json.dumps(manifest | {"pruned_from": None}))
    assert bundle_supernet(bundle / "subnet.json", cfg) == weights
    assert bundle_supernet(bundle / "subnet.json", space.max()) is None  # the bundle is of another subnet
    assert bundle_supernet(tmp_path / "subnet.json", cfg) is None  # no bundle beside it
    moved = tmp_path / "elsewhere.safetensors"
    weights.rename(moved)  # gone from where it was exported: the embedded supernet if it holds those weights
    monkeypatch.setattr("ofa_edge.export.bundle.embedded_supernet", lambda: moved)
    assert bundle_supernet(bundle / "subnet.json", cfg) == moved
    monkeypatch.setattr("ofa_edge.export.bundle.embedded_supernet", lambda: tmp_path / "none.safetensors")
    with pytest.raises(
        UserError, match=r"was exported from supernet '.*mine.safetensors' .* as supernet \(--supernet\)\."
    ):
        bundle_supernet(bundle / "subnet.json", cfg)
    (bundle / "bundle.json").write_text(json.dumps(manifest | {"pruned_from": str(tmp_path / "slim.json")}))
    assert bundle_supernet(bundle / "subnet.json", cfg) is None  # a pruned network's: no supernet holds it
