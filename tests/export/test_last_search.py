"""Reading the last search result that ``export`` falls back on."""

from __future__ import annotations

import json

import pytest

from ofa_edge import SearchSpace
from ofa_edge.errors import UserError
from ofa_edge.export.last_search import read_last_search
from ofa_edge.paths import last_search_path


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


def test_the_top_k_is_read_by_id(tmp_path):
    """A search records its top-k subnets with their ids (its table's id column), for `export --subnet ID`;
    an older record has none."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    doc = {"subnet": space.max().to_dict()}
    (tmp_path / "old.json").write_text(json.dumps(doc))
    assert read_last_search(tmp_path / "old.json").top_k == {}
    rows = [
        {"rank": i + 1, "id": c.short_id(), "subnet": c.to_dict()} for i, c in enumerate((space.max(), space.min()))
    ]
    (tmp_path / "l.json").write_text(json.dumps(doc | {"top_k": rows}))
    assert read_last_search(tmp_path / "l.json").top_k == {
        space.max().short_id(): space.max(),
        space.min().short_id(): space.min(),
    }
    (tmp_path / "bad.json").write_text(json.dumps(doc | {"top_k": [{"id": "x"}]}))
    with pytest.raises(UserError, match="'top_k' must be a list of objects with a 'subnet'"):
        read_last_search(tmp_path / "bad.json")


def test_every_searched_device_is_read_with_its_table_kind_and_budget(tmp_path):
    """A multi-device search records each device (`devices`); an older record only its first device's
    latency and table, which then stand for it."""
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min()
    measured, estimated = {"device": "x86-cpu", "kind": "measured"}, {"device": "pixel-8", "kind": "estimated"}
    doc = {
        "subnet": cfg.to_dict(),
        "device": "x86-cpu",
        "predicted": {"latency_ms": 2.0},
        "latency_table": measured,
        "devices": {
            "x86-cpu": {"budget_ms": 2.5, "predicted_ms": 2.0, "estimated": False, "provenance": measured},
            "pixel-8": {"budget_ms": None, "predicted_ms": 1.4, "estimated": True, "provenance": estimated},
        },
    }
    (tmp_path / "l.json").write_text(json.dumps(doc))
    assert read_last_search(tmp_path / "l.json").devices == {
        "x86-cpu": {"latency_ms": 2.0, "kind": "measured", "budget_ms": 2.5, "latency_table": measured},
        "pixel-8": {"latency_ms": 1.4, "kind": "estimated", "budget_ms": None, "latency_table": estimated},
    }
    del doc["devices"]
    (tmp_path / "l.json").write_text(json.dumps(doc))
    assert read_last_search(tmp_path / "l.json").devices == {
        "x86-cpu": {"latency_ms": 2.0, "kind": "measured", "budget_ms": None, "latency_table": measured}
    }
    (tmp_path / "l.json").write_text(json.dumps(doc | {"devices": {"x86-cpu": 2.0}}))
    with pytest.raises(UserError, match="'devices' must map device names to objects"):
        read_last_search(tmp_path / "l.json")
    for entry in ({"budget_ms": 2.0}, {"predicted_ms": "fast"}, {"predicted_ms": 1.0, "budget_ms": True}):
        (tmp_path / "l.json").write_text(json.dumps(doc | {"devices": {"x86-cpu": entry}}))
        with pytest.raises(UserError, match="device 'x86-cpu' needs a number 'predicted_ms'"):
            read_last_search(tmp_path / "l.json")


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


def test_a_bad_subnet_names_the_file_ahead_of_the_field(tmp_path):
    """It said 'top_k.resolution: 30 is not in space … (24, 28, 32) (in l.json; run …)': two sets of brackets."""
    bad = SearchSpace.get("mbv3-w1.0-cifar").min().to_dict() | {"resolution": 30}
    (tmp_path / "l.json").write_text(json.dumps({"subnet": bad, "top_k": [{"subnet": bad}]}))
    with pytest.raises(UserError) as e:
        read_last_search(tmp_path / "l.json")
    assert str(e.value) == (
        f"last search result '{tmp_path / 'l.json'}': resolution: 30 is not in space mbv3-w1.0-cifar (24, 28, 32); "
        "run `ofa-edge search` again or pass --subnet FILE"
    )


def test_the_search_beside_a_subnet_file_is_found(cli, tmp_path, monkeypatch):
    """`export --subnet DIR/subnet.json` knows the search that wrote it (device, table, predictions)
    from DIR/search.json, even after another search became the last one."""
    from ofa_edge.export.inputs import resolve_inputs
    from ofa_edge.export.last_search import search_beside
    from ofa_edge.space import SubnetConfig

    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "home"))
    out = tmp_path / "orin"
    code, _, err = cli("search", "--latency", "0.3ms", "--device", "jetson-orin", "--no-measure", "--out", str(out))
    assert code == 0, err
    code, _, err = cli("search", "--latency", "2ms", "--no-measure", "--out", str(tmp_path / "cpu"))  # now the last
    assert code == 0, err
    cfg = SubnetConfig.load(out / "subnet.json")
    inputs = resolve_inputs(out / "subnet.json", None)
    assert inputs.last_search is not None and inputs.last_search.device == "jetson-orin"
    assert inputs.last_search.latency_table["device"] == "jetson-orin"
    assert inputs.last_search.predicted["latency_ms"] <= 0.3
    other = SearchSpace.get(cfg.space).min()
    assert search_beside(out / "subnet.json", other) is None  # a report of another subnet is not this one's
    assert search_beside(tmp_path / "nowhere" / "subnet.json", cfg) is None
