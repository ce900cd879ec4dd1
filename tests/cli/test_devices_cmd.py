"""``ofa-edge devices``: the device list, one device, and broken or missing device folders."""

from __future__ import annotations

import json

import yaml

from ofa_edge.paths import SHIPPED_DEVICES


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


def test_a_missing_devices_folder_warns_and_lists_the_shipped_devices(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path / "nope"))
    code, out, err = cli("devices", "--json")
    names = {d["name"] for d in json.loads(out)["devices"]}
    assert code == 0 and names == {p.stem for p in SHIPPED_DEVICES.glob("*.yaml")}
    assert "OFA_EDGE_DEVICES is" in _flat(err) and "which is not a folder" in _flat(err)


def test_your_device_file_is_listed_and_shadows_the_shipped_one_of_its_name(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path))
    mine = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text()) | {"repeats": 7}
    (tmp_path / "x86-cpu.yaml").write_text(yaml.safe_dump(mine))
    (tmp_path / "my-board.yaml").write_text(yaml.safe_dump(mine | {"name": "my-board"}))
    code, out, _ = cli("devices", "--json")
    rows = {d["name"]: d for d in json.loads(out)["devices"]}
    assert code == 0 and {"my-board", "x86-cpu", "h100"} <= set(rows)
    assert rows["x86-cpu"]["repeats"] == 7 and rows["x86-cpu"]["file"] == str(tmp_path / "x86-cpu.yaml")
    assert rows["h100"]["file"] == str(SHIPPED_DEVICES / "h100.yaml") and not rows["h100"]["table_is_yours"]
    assert rows["my-board"]["table_status"] == "none"


def test_one_broken_device_file_is_skipped_with_a_warning_not_the_whole_list(cli, tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("name: broken\nruntime: onnxruntime\n  provider: cpu\n")
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(tmp_path))
    code, out, err = cli("devices", "--json")
    names = [d["name"] for d in json.loads(out)["devices"]]
    assert code == 0 and "broken" not in names and "x86-cpu" in names
    assert "skipped device 'broken'" in _flat(err) and "line 3, column 11" in _flat(err)
    code, _, err = cli("devices", "broken")
    assert code == 2 and "not valid YAML" in _flat(err)


def test_the_list_says_which_device_search_defaults_to(cli, tmp_path):
    """search without --device follows the last profile here: the list says which device that is, and why."""
    code, out, _ = cli("devices")
    assert code == 0 and "search's default device here: x86-cpu (no `ofa-edge profile` here yet)" in _flat(out)
    code, _, err = cli("profile", "--device", "raspberry-pi-5", "--estimate", "-o", str(tmp_path / "rpi.json"))
    assert code == 0, err
    code, out, _ = cli("devices", "--json")
    assert code == 0 and json.loads(out)["search_default"]["device"] == "raspberry-pi-5"
    code, out, _ = cli("devices")
    assert "search's default device here: raspberry-pi-5 (the last `ofa-edge profile` here" in _flat(out)
