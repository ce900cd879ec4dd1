"""Bundles are written into a temporary folder and renamed: never half-written."""

from __future__ import annotations

import stat

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.bundle import MANIFEST, check_output_dir, default_bundle_name, list_files, staged_bundle
from ofa_edge.io import umask


def test_success_renames_into_place(tmp_path):
    out = tmp_path / "b"
    with staged_bundle(out) as stage:
        assert stage.parent == tmp_path and stage != out
        (stage / MANIFEST).write_text("{}")
        (stage / "m.onnx").write_bytes(b"x")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "m.onnx"]
    assert list_files(out)["m.onnx"]["bytes"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["b"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask()  # readable by others, not mkdtemp's 0700


def test_failure_leaves_nothing_and_keeps_the_old_bundle(tmp_path):
    out = tmp_path / "b"
    with staged_bundle(out) as stage:
        (stage / MANIFEST).write_text("old")
    with pytest.raises(RuntimeError), staged_bundle(out) as stage:
        (stage / MANIFEST).write_text("new")
        raise RuntimeError("export failed")
    assert (out / MANIFEST).read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


def test_replaces_an_existing_bundle(tmp_path):
    out = tmp_path / "b"
    for text in ("old", "new"):
        with staged_bundle(out) as stage:
            (stage / MANIFEST).write_text(text)
    assert (out / MANIFEST).read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]


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
