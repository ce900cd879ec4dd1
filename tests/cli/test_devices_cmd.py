"""``ofa-edge devices``: the device list, one device, and broken or missing device folders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _flat(text: str) -> str:
    """Rich wraps long messages; compare on single-spaced text."""
    return " ".join(text.split())


def test_devices_json_lists_every_device(cli):
    code, out, _ = cli("devices", "--json")
    assert code == 0
    rows = {d["name"]: d for d in json.loads(out)["devices"]}
    assert {"jetson-orin", "jetson-orin-nano", "raspberry-pi-5", "pixel-8", "x86-cpu", "h100"} <= set(rows)
    assert rows["x86-cpu"]["runs_here"] is True and rows["x86-cpu"]["backend"] == "onnxruntime-cpu"
    assert rows["jetson-orin"]["runtime"] == "tensorrt" and rows["jetson-orin"]["datasheet"]["peak_flops"] > 1e13
    code, out, _ = cli("devices", "h100", "--json")
    assert code == 0 and json.loads(out)["name"] == "h100"


def test_devices_folder_missing_exits_2_and_empty_folder_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path / "nope"))
    code, out, err = cli("devices", "--json")
    assert code == 2 and out == "" and "does not exist; point OFA_EDGE_DEVICES at a folder" in _flat(err)
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path))
    code, out, err = cli("devices", "--json")
    assert code == 0 and json.loads(out) == {"devices": []} and "no device files in" in _flat(err)


def test_one_broken_device_file_is_skipped_with_a_warning_not_the_whole_list(cli, tmp_path, monkeypatch):
    shipped = Path(__file__).parents[2] / "devices"
    shutil.copy(shipped / "x86-cpu.yaml", tmp_path / "x86-cpu.yaml")
    (tmp_path / "broken.yaml").write_text("name: broken\nruntime: onnxruntime\n  provider: cpu\n")
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path))
    code, out, err = cli("devices", "--json")
    assert code == 0 and [d["name"] for d in json.loads(out)["devices"]] == ["x86-cpu"]
    assert "skipped device 'broken'" in _flat(err) and "line 3, column 11" in _flat(err)
    code, _, err = cli("devices", "broken")
    assert code == 2 and "not valid YAML" in _flat(err)
