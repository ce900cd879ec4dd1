"""``ofa-edge space``: human table, --json document, exit 2 on bad input."""

from __future__ import annotations

import json

from ofa_edge.space import SearchSpace


def test_lists_every_space(cli) -> None:
    code, out, err = cli("space")
    assert code == 0
    for name in SearchSpace.names():
        assert name in out  # full names, not ellipsized in an 80-column terminal
    assert "20.5-179.7M" in out  # MACs range of mbv3-w1.0-cifar
    assert "24, 28, 32" in out and "24-32" not in out  # a set of sizes, not a range of them
    assert "assume 10 classes" in err  # the default it picked


def test_one_space_shows_min_and_max(cli) -> None:
    code, out, _ = cli("space", "mbv3-w1.0-imagenet")
    assert code == 0
    assert "min: r128 k3e3,k3e3 |" in out and "max: r224 k7e6,k7e6,k7e6,k7e6 |" in out


def test_json_is_one_document_matching_describe(cli) -> None:
    code, out, _ = cli("space", "mbv3-w1.0-cifar", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc == json.loads(json.dumps(SearchSpace.get("mbv3-w1.0-cifar").describe()))
    assert doc["num_subnets"] > 10**19 and doc["macs_range"][0] < doc["macs_range"][1]
    code, out, _ = cli("space", "--json", "--classes", "100")
    assert code == 0
    spaces = json.loads(out)["spaces"]
    assert [s["name"] for s in spaces] == SearchSpace.names()
    assert {s["num_classes_assumed"] for s in spaces} == {100}


def test_unknown_space_exits_2_naming_it(cli) -> None:
    code, out, err = cli("space", "mbv3-w1.0-cifr", "--json")
    assert code == 2 and out == ""
    assert "unknown search space 'mbv3-w1.0-cifr'" in err and "mbv3-w1.0-cifar" in err
    assert "Traceback" not in err
    code, _, err = cli("space", "MBV3-W1.0-CIFAR")
    assert code == 2 and "Did you mean 'mbv3-w1.0-cifar'?" in err


def test_bad_class_count_exits_2(cli) -> None:
    code, out, err = cli("space", "--classes", "0")
    assert code == 2 and out == ""
    assert "--classes 0: must be >= 1." in err
