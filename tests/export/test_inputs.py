"""What an export is given: a pruned network's weights file is pointed at its slim.json."""

from __future__ import annotations

import pytest

from ofa_edge.errors import UserError
from ofa_edge.export.inputs import slim_inputs


def test_slim_weights_file_points_at_its_description(tmp_path) -> None:
    weights = tmp_path / "slim.safetensors"
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(UserError, match=r"--slim .*slim\.json"):
        slim_inputs(weights)
    other = tmp_path / "notes.bin"
    other.write_bytes(bytes(range(256)))
    with pytest.raises(UserError, match="cannot read the pruned network"):
        slim_inputs(other)
