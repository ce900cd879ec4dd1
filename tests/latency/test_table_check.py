"""``check_table`` (``profile --check`` / ``--rescale``) refuses what it cannot compare, before timing anything."""

from __future__ import annotations

import shutil

import pytest

from ofa_edge.errors import UserError
from ofa_edge.latency.devices import load_device
from ofa_edge.latency.table import LatencyTable, lock_table
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


def test_rescale_is_refused_while_a_profile_writes_the_table(tmp_path) -> None:
    """A rescaled copy saved over a table being measured would drop the entries measured meanwhile."""
    path = tmp_path / "x86-cpu.json"
    shutil.copy(SHIPPED_TABLES / "x86-cpu.json", path)
    timed = []
    with lock_table(path), pytest.raises(UserError, match=r"another `ofa-edge profile` \(process \d+\)"):
        check_table(load_device("x86-cpu"), path, rescale_to=path, status=timed.append)
    assert not timed and path.read_bytes() == (SHIPPED_TABLES / "x86-cpu.json").read_bytes()
