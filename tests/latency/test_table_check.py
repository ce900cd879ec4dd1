"""``check_table`` (``profile --check`` / ``--rescale``) refuses what it cannot compare, before timing anything."""

from __future__ import annotations

import shutil

import pytest

from ofa_edge.errors import UserError
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.table import LatencyTable
from ofa_edge.latency.table_check import check_table
from ofa_edge.paths import SHIPPED_TABLES


def test_an_estimated_table_is_refused(tmp_path) -> None:
    path = tmp_path / "jetson-orin.json"
    shutil.copy(SHIPPED_TABLES / "jetson-orin.json", path)
    assert LatencyTable.load(path).estimated
    with pytest.raises(UserError, match="is an estimated table"):
        check_table(load_device("jetson-orin"), path)


def test_another_machines_table_names_the_device_and_where_to_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.provenance["device"] = "raspberry-pi-5"
    table.save(tmp_path / "raspberry-pi-5.json")
    timed = []
    with pytest.raises(UserError, match=r"which this machine is not \(raspberry-pi-5 runs on aarch64") as e:
        check_table(load_device("raspberry-pi-5"), tmp_path / "raspberry-pi-5.json", status=timed.append)
    assert "`ofa-edge profile --device raspberry-pi-5 --check` there" in str(e.value) and not timed
