"""Reading the last search result that ``export`` falls back on."""

from __future__ import annotations

import json

import pytest

from ofa_edge import SearchSpace
from ofa_edge.errors import UserError
from ofa_edge.export.last_search import last_search_path, read_last_search


def test_absent_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path))
    assert last_search_path() == tmp_path / "last_search.json"
    assert read_last_search() is None


def test_reads_subnet_supernet_and_predictions(tmp_path):
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    doc = {
        "subnet": cfg.to_dict(),
        "supernet": "s.safetensors",
        "device": "jetson-orin",
        "predicted": {"latency_ms": 3.2, "accuracy": 0.9},
        "latency_table": {"device": "jetson-orin"},
    }
    (tmp_path / "l.json").write_text(json.dumps(doc))
    last = read_last_search(tmp_path / "l.json")
    assert last.subnet == cfg and last.supernet.name == "s.safetensors" and last.device == "jetson-orin"
    assert last.predicted["latency_ms"] == 3.2 and last.latency_table["device"] == "jetson-orin"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "unreadable"),
        ("[]", "no 'subnet'"),
        ('{"subnet": {"space": "nope"}}', "resolution: missing field"),
        (
            (
                '{"subnet": {"space": "mbv3-w1.0-cifar", "resolution": 32, '
                '"depth": [2,2,2,2,2], "kernel": [3], "expand": [3]}}'
            ),
            "kernel",
        ),
    ],
)
def test_malformed_is_a_user_error(tmp_path, text, match):
    (tmp_path / "l.json").write_text(text)
    with pytest.raises(UserError, match=match):
        read_last_search(tmp_path / "l.json")
