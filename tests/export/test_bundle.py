"""Where a bundle may be written and what it is called (its staged write: tests/test_io.py)."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.bundle import check_output_dir, default_bundle_name


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
