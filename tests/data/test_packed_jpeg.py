"""The packed JPEG reader that export, prune and quickstart call directly: a wrong --data says so."""

from __future__ import annotations

import pytest

from ofa_edge.data import load_packed
from ofa_edge.errors import UserError


def test_a_missing_dataset_folder_is_named_as_a_folder(tmp_path) -> None:
    with pytest.raises(UserError, match="dataset folder .* does not exist"):
        load_packed(tmp_path / "nonexist", "test")
    with pytest.raises(UserError, match=r"test\.jpg\.bin' is missing"):  # a folder, but not a packed dataset
        load_packed(tmp_path, "test")
