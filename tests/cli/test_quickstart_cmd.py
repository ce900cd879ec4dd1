"""``ofa-edge quickstart``: search, export and classify on any dataset layout; its refusals."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_HOME", str(tmp_path / "home"))


def test_classifies_the_test_images_of_an_imagefolder_tree(cli, cifar_imagefolder, tmp_path) -> None:
    """--data took only packed folders ('dataset file .../test.jpg.bin is missing ... or an ImageFolder tree')."""
    args = ["quickstart", "--data", str(cifar_imagefolder), "--images", "5", "--out", str(tmp_path / "q"), "--json"]
    code, out, err = cli(*args)
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["predictions"]) == 5 and doc["bundle"]["format"] == "onnx"
    assert {r["label"] for r in doc["predictions"]} <= {p.name for p in (cifar_imagefolder / "test").iterdir()}


def test_an_out_file_and_a_data_file_exit_2_before_the_search(cli, tmp_path) -> None:
    """--out FILE was 'cannot write an ofa-edge bundle under ... (File exists)'; --data FILE was
    'dataset folder ... does not exist'. Both now as search, export, eval and train say them."""
    taken = tmp_path / "some_file.json"
    taken.write_text("{}")
    code, _, err = cli("quickstart", "--out", str(taken))
    assert code == 2 and "some_file.json' is a file; pass a folder for the search" in " ".join(err.split()), err
    code, _, err = cli("quickstart", "--data", str(taken), "--out", str(tmp_path / "q"))
    assert code == 2 and "some_file.json' is a file; pass the dataset folder." in " ".join(err.split()), err
    assert "step 1/3" not in err and not (tmp_path / "q" / "search").exists()


def test_an_interrupted_profile_of_this_machine_does_not_stop_the_quickstart(
    cli, cifar_imagefolder, tmp_path, monkeypatch
) -> None:
    """After `ofa-edge profile --max-entries N` (or a Ctrl-C'd profile), quickstart exited 2 telling the user to
    pass --table, an option it does not have; it now goes on with the shipped table and says so."""
    from ofa_edge.paths import SHIPPED_TABLES

    doc = json.loads((SHIPPED_TABLES / "x86-cpu.json").read_text())
    doc["complete"] = False
    doc["entries"] = dict(list(doc["entries"].items())[:5])
    mine = tmp_path / "tables"
    mine.mkdir()
    (mine / "x86-cpu.json").write_text(json.dumps(doc))
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(mine))
    args = ["quickstart", "--data", str(cifar_imagefolder), "--images", "2", "--out", str(tmp_path / "q"), "--json"]
    code, out, err = cli(*args)
    assert code == 0, err
    assert "quickstart goes on with the shipped one" in " ".join(err.split())
    assert json.loads(out)["search"]["devices"]["x86-cpu"]["table"] == str(SHIPPED_TABLES / "x86-cpu.json")


def test_no_shipped_table_stands_in_where_your_device_file_redefines_this_machine(cli, tmp_path, monkeypatch) -> None:
    """quickstart goes on with the shipped table exactly where table_for_device offers it: not for your own x86-cpu
    device file (the shipped table was measured with the shipped file's settings)."""
    from ofa_edge.latency.table import LatencyTable
    from ofa_edge.paths import SHIPPED_DEVICES, SHIPPED_TABLES

    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "x86-cpu.yaml").write_text(
        (SHIPPED_DEVICES / "x86-cpu.yaml").read_text().replace("repeats:", "repeats: 7 #")
    )
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(devices))
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.complete = False
    table.save(tmp_path / "tables" / "x86-cpu.json")
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(tmp_path / "tables"))
    code, _, err = cli("quickstart", "--out", str(tmp_path / "q"))
    assert code == 2 and "run `ofa-edge profile --device x86-cpu` again" in " ".join(err.split()), err
    assert "the shipped table is there to use" not in err and "step 1/3" not in err


def test_ctrl_c_during_the_search_says_what_quickstart_kept(cli, cifar_imagefolder, tmp_path, monkeypatch) -> None:
    """The CLI's line for a Ctrl-C spoke of `train --resume` and of long jobs resuming; quickstart is neither."""
    from ofa_edge.cli import quickstart_cmd

    def interrupted_search(**_options) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(quickstart_cmd, "search", interrupted_search)
    code, _, err = cli("quickstart", "--data", str(cifar_imagefolder), "--images", "2", "--out", str(tmp_path / "q"))
    said = " ".join(err.split())
    assert code == 130 and "interrupted during the search" in said and "starts the quickstart afresh" in said, err
    assert "--resume" not in said
