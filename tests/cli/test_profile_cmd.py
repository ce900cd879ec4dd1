"""``ofa-edge profile`` through the CLI: measure, resume, estimate, calibrate, validate, --check and --rescale."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_DEVICES, SHIPPED_TABLES


def _flat(text: str) -> str:
    """Rich wraps long messages; compare on single-spaced text."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def measured_table(tmp_path_factory) -> Path:
    """A complete x86-cpu table measured here at 24 px (``profile --resolutions 24 --warmup 0 --repeats 2``),
    measured once for the module; tests that go on from it copy it (:func:`_copy_of`)."""
    from ofa_edge.cli.app import main

    base = tmp_path_factory.mktemp("measured-table")
    with pytest.MonkeyPatch.context() as mp:  # as _work_dirs_in_tmp does for each test
        mp.setenv("OFA_EDGE_HOME", str(base / "ofa-edge-home"))
        mp.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
        path = base / "t.json"
        assert main(["profile", "--resolutions", "24", "--warmup", "0", "--repeats", "2", "-o", str(path)]) == 0
    assert LatencyTable.load(path).complete
    return path


def _copy_of(table: Path, path: Path) -> Path:
    shutil.copy(table, path)
    return path


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> Counter[Path]:
    """How many times each latency table is read (:meth:`LatencyTable.load`) from now on in this test."""
    reads: Counter[Path] = Counter()
    load = LatencyTable.load

    def counting(path: str | Path, **kwargs: bool) -> LatencyTable:
        reads[Path(path)] += 1
        return load(path, **kwargs)

    monkeypatch.setattr(LatencyTable, "load", staticmethod(counting))
    return reads


def test_unknown_device_exits_2_with_suggestion(cli):
    code, _, err = cli("profile", "--device", "raspbery-pi-5")
    assert code == 2 and "Did you mean 'raspberry-pi-5'" in _flat(err)
    code, _, err = cli("devices", "nope")
    assert code == 2 and "unknown device" in err


def test_absent_runtime_exits_2_naming_the_install(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("platform.machine", lambda: "aarch64")  # a Jetson without TensorRT's Python package
    code, _, err = cli("profile", "--device", "jetson-orin", "-o", str(tmp_path / "t.json"))
    assert code == 2 and "tensorrt" in err.lower() and "pip install tensorrt" in _flat(err)
    assert not (tmp_path / "t.json").exists()


def test_corrupt_or_foreign_table_exits_2(cli, tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text('{"format": "ofa-edge-latency/1", "space": "mbv3-w1.0-cifar", "entr')
    code, _, err = cli("profile", "--device", "x86-cpu", "-o", str(bad))
    assert code == 2 and "not valid JSON" in _flat(err) and _flat(err).count("--force") == 1  # its remake command
    assert f"`ofa-edge profile --device x86-cpu -o {bad} --force`" in _flat(err)  # the device profile was given
    bad.write_text(json.dumps({"model": "resnet"}))
    code, _, err = cli("profile", "--device", "x86-cpu", "-o", str(bad))
    assert code == 2 and "not an ofa-edge latency table" in _flat(err) and "run again with --force" in _flat(err)


def test_partial_profile_json_then_resume(cli, tmp_path):
    path = tmp_path / "t.json"
    base = ("profile", "--resolutions", "24", "--warmup", "0", "--repeats", "2", "-o", str(path), "--json")
    code, out, err = cli(*base, "--max-entries", "2")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["complete"] is False and doc["entries"] == 2 and doc["missing"] == 91
    assert "device x86-cpu" in err  # the default device is printed
    code, out, _ = cli(*base, "--max-entries", "1")
    assert code == 0 and json.loads(out)["entries"] == 3
    code, _, err = cli(*base, "--validate", "-1")
    assert code == 2 and "--validate" in err
    before = path.read_bytes()
    for flag, old, new in (("--repeats", "2", "3"), ("--warmup", "0", "1")):
        other = [new if a == old and base[i - 1] == flag else a for i, a in enumerate(base)]
        code, _, err = cli(*other, "--max-entries", "1")  # a partial table is not continued with other settings
        assert code == 2 and f"{flag[2:]}: {old} on disk vs {new} now" in _flat(err) and "--force" in _flat(err)
        assert f"To continue it, give its settings: {flag} {old}" in _flat(err)  # an interrupted run's own options
    assert path.read_bytes() == before


def test_remote_devices_are_not_profiled_on_this_host(cli, tmp_path, monkeypatch):
    """A device file's ``arch`` must be this machine's: a Pi table timed on an x86 host would say
    ``kind: measured`` with an Xeon's numbers."""
    path = tmp_path / "rpi.json"
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    code, _, err = cli("profile", "--device", "raspberry-pi-5", "-o", str(path), "--max-entries", "1")
    assert code == 2 and not path.exists()
    assert "raspberry-pi-5 runs on aarch64 but this machine is x86_64: profile it with --ssh user@host" in _flat(err)
    code, out, _ = cli("devices", "raspberry-pi-5", "--json")
    assert json.loads(out)["runs_here"] is False and "aarch64" in json.loads(out)["absent_reason"]
    code, _, err = cli("profile", "--device", "raspberry-pi-5", "--ssh", "", "-o", str(path))
    assert code == 2 and "--ssh is empty" in _flat(err) and not path.exists()  # `--ssh "$UNSET"`
    # On the phone (Python in Termux says aarch64) the check passes: what stops it here is XNNPACK.
    monkeypatch.setattr("platform.machine", lambda: "aarch64")
    code, _, err = cli("profile", "--device", "pixel-8", "-o", str(path))
    assert code == 2 and "runs on aarch64" not in _flat(err) and "XNNPACK" in _flat(err)


def test_estimate_writes_an_estimated_table(cli, tmp_path):
    code, out, err = cli(
        "profile", "--device", "raspberry-pi-5", "--estimate", "-o", str(tmp_path / "rpi.json"), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    table = LatencyTable.load(doc["table"])
    assert table.estimated and table.provenance["datasheet"]["peak_flops"] == 1.536e11
    assert doc["fit"]["reference_device"] == "x86-cpu"
    code, out, err = cli("profile", "--device", "h200", "--estimate", "-o", str(tmp_path / "h200.json"), "--json")
    assert code == 0 and json.loads(out)["fit"]["reference_device"] == "h100"  # a GPU's table for a GPU runtime


def test_estimate_reports_the_models_end_to_end_error_on_its_reference(cli, tmp_path):
    """On the shipped, validated h100 table the model as fitted (its fitted per-layer overhead, not
    the device file's figure for estimates) must predict the validation subnets about as well as the
    table's own block sum does (74.5% within ±10%, MAPE 8.9%)."""
    ref = SHIPPED_TABLES / "h100.json"
    code, out, err = cli(
        "profile", "--device", "jetson-orin", "--estimate", "--reference", str(ref), "-o", str(tmp_path / "o.json"), "--json"
    )  # fmt: skip
    assert code == 0, err
    fit = json.loads(out)["fit"]
    assert fit["reference_e2e_n"] == 200 and fit["reference_e2e_mape_pct"] < 20


def test_profile_calibrate_validate_end_to_end(cli, measured_table, tmp_path, capsys):
    """The whole flow on ONNX Runtime at one resolution, with tiny repeat counts: the table the same
    command measured (``measured_table``), then calibrated and validated."""
    from ofa_edge.cli.profile_render import render_measured

    path = _copy_of(measured_table, tmp_path / "x86-cpu.json")
    args = ("profile", "--resolutions", "24", "--warmup", "0", "--repeats", "2", "-o", str(path), "--json")
    code, out, err = cli(*args, "--calibrate", "8", "--validate", "3", "--docs-dir", str(tmp_path / "docs"))
    assert code == 0, err
    doc = json.loads(out)
    table = LatencyTable.load(path)
    assert table.complete and table.correction["fitted_on"] == 8
    assert doc["validation"]["lut"]["n"] == 3 and doc["validation"]["corrected"]["mape_pct"] >= 0
    report = json.loads(Path(doc["reports"]["report"]).read_text())
    assert len(report["subnets"]) == 3 and all(r["measured_ms"] > 0 for r in report["subnets"])
    assert Path(doc["reports"]["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "docs" / "latency-validation-x86-cpu.md").read_text()
    assert "within ±10%" in summary and "](latency-validation-x86-cpu.png)" in summary  # its plot beside it
    assert (tmp_path / "docs" / "latency-validation-x86-cpu.png").read_bytes() == Path(
        doc["reports"]["plot"]
    ).read_bytes()
    assert doc["search_with"] == f"ofa-edge search --table {path} --latency ..."  # not the device's own table
    render_measured(doc)  # the human view (without --json) of this run names the fitted correction
    out = capsys.readouterr().out
    assert "end-to-end correction:" in out and f"search--table{path}" in "".join(out.split()), out


def test_the_human_view_names_the_cpu_that_fitted_the_correction(capsys):
    from ofa_edge.cli.profile_render import render_measured

    corr = {"scale": 1.1, "per_block": 0.0, "per_mparam": 0.0, "offset": 0.0, "fit_mape_pct": 3.0, "fitted_on": 100}
    render_measured({"table": "t.json", "entries": 9, "correction": corr, "correction_fitted_on": "Other CPU"})
    shown = " ".join(capsys.readouterr().out.split())
    assert "on 100 subnets of Other CPU, not this CPU: refit it here with --calibrate 100)" in shown, shown


def test_check_compares_this_machine_with_the_table(cli, measured_table, tmp_path, monkeypatch):
    monkeypatch.setattr("ofa_edge.latency.drift.load_average", lambda: 0.0)  # quiet (--rescale refuses a busy machine)
    path = _copy_of(measured_table, tmp_path / "t.json")
    base = ("profile", "--resolutions", "24", "-o", str(path))
    code, out, err = cli(*base, "--check", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["readings"]) == 5 and 0.3 < doc["factor"] < 3 and doc["holds"] == (abs(doc["factor"] - 1) <= 0.05)
    code, out, _ = cli(*base, "--check")
    assert code == 0 and ("holds" in out or "predictions are" in _flat(out))
    before = json.loads(path.read_text())
    code, out, err = cli(*base, "--rescale", "--json")
    assert code == 0, err
    doc, after = json.loads(out), json.loads(path.read_text())
    assert doc["rescaled"] is True and doc["same_cpu"] is True
    assert after["provenance"]["rescaled"][0]["factor"] == doc["factor"]
    key = next(iter(before["entries"]))
    assert after["entries"][key]["median"] == before["entries"][key]["median"] * doc["factor"]
    table = json.loads(path.read_text())
    path.write_text(json.dumps(table | {"provenance": table["provenance"] | {"host_cpu": "Apple M3"}}))
    code, out, err = cli(*base, "--check", "--json")
    assert (
        code == 0
        and json.loads(out)["same_cpu"] is False
        and "measured on another CPU (Apple M3" in _flat(err)
        and "--rescale" in _flat(err)
    )
    del table["provenance"]["speed_reference"]
    path.write_text(json.dumps(table))
    code, _, err = cli(*base, "--check")
    assert code == 2 and "without a speed reference" in _flat(err)
    code, _, err = cli("profile", "-o", str(tmp_path / "none.json"), "--check")
    assert code == 2 and "does not exist" in _flat(err)
    code, _, err = cli(*base, "--check", "--ssh", "me@board", "--calibrate", "10")
    assert code == 2 and "drop --ssh and --calibrate" in _flat(err)
    code, _, err = cli(*base, "--check", "--force")
    assert code == 2 and "--check only times" in _flat(err)
    table["provenance"]["speed_reference"] = before["provenance"]["speed_reference"] | {"warmup": 1}
    path.write_text(json.dumps(table))  # read the pre-2026-12-02 way: after one untimed call
    code, _, err = cli(*base, "--check")
    assert code == 2 and "read after 1 untimed call(s), not 5" in _flat(err) and "--force" in _flat(err)


def test_check_times_the_table_with_its_own_threads(cli, measured_table, tmp_path):
    import yaml

    wall = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    wall.pop("clock", None)  # wall clock: any thread count
    (tmp_path / "cpu-wall.yaml").write_text(yaml.safe_dump(wall | {"name": "cpu-wall"}))
    table = json.loads(measured_table.read_text())  # measured with 1 thread, as that device's
    table["provenance"] |= {"device": "cpu-wall", "clock": "wall"}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table))
    base = ("profile", "--device", str(tmp_path / "cpu-wall.yaml"), "--resolutions", "24", "-o", str(path))
    code, _, err = cli(*base, "--check", "--threads", "2")
    assert code == 2 and "measured with 1 thread(s)" in _flat(err) and "drop --threads" in _flat(err)


def test_bad_profile_options_exit_2_before_any_timing(cli, tmp_path):
    out = ("-o", str(tmp_path / "t.json"))
    for args, message in [
        (("--repeats", "-1"), "--repeats -1: must be >= 1."),
        (("--warmup", "-5"), "--warmup -5: must be >= 0."),
        (("--classes", "-3"), "--classes -3: must be >= 1."),
        (("--calibrate", "3"), "--calibrate needs at least 8 subnets"),
        (("--threads", "2"), "times one thread's CPU time"),
        (("--resolutions", "30,36"), "--resolutions: 30, 36 are not in space mbv3-w1.0-cifar (24, 28, 32)"),
    ]:
        code, _, err = cli("profile", *out, *args)
        assert code == 2 and message in _flat(err), (args, err)
    assert not (tmp_path / "t.json").exists()


def test_estimate_does_not_overwrite_a_measured_table(cli, tmp_path):
    measured = tmp_path / "x86.json"
    shipped = SHIPPED_TABLES / "x86-cpu.json"
    measured.write_bytes(shipped.read_bytes())
    code, _, err = cli("profile", "--device", "x86-cpu", "--estimate", "-o", str(measured))
    assert code == 2 and "holds a measured table" in _flat(err)
    assert measured.read_bytes() == shipped.read_bytes()
    assert cli("profile", "--device", "x86-cpu", "--estimate", "--force", "-o", str(measured))[0] == 0
    assert LatencyTable.load(measured).estimated


def test_estimate_refuses_an_impossible_datasheet(cli, tmp_path):
    import yaml

    data = yaml.safe_load((SHIPPED_DEVICES / "raspberry-pi-5.yaml").read_text())
    data["datasheet"]["peak_flops"] = 0
    (tmp_path / "zero.yaml").write_text(yaml.safe_dump(data))
    code, _, err = cli("profile", "--device", str(tmp_path / "zero.yaml"), "--estimate", "-o", str(tmp_path / "z.json"))
    assert code == 2 and "datasheet peak_flops must be a finite number > 0, got 0.0" in _flat(err)
    assert not (tmp_path / "z.json").exists()


def test_check_refuses_an_estimated_table(cli, tmp_path):
    path = str(tmp_path / "rpi.json")
    assert cli("profile", "--device", "raspberry-pi-5", "--estimate", "-o", path)[0] == 0
    code, _, err = cli("profile", "--device", "raspberry-pi-5", "--check", "-o", path)
    assert code == 2 and "estimated table" in _flat(err)


def test_a_device_path_that_does_not_exist_is_named_as_a_file(cli, tmp_path):
    for arg in ("files/nonexist.yaml", "files/nonexist", str(tmp_path / "d.yml")):
        code, _, err = cli("profile", "--device", arg)
        assert code == 2 and f"device file '{arg}' does not exist" in _flat(err) and "unknown device" not in err


def test_check_of_another_machines_table_says_this_machine_is_not_that_device(cli, monkeypatch):
    import ofa_edge.latency.backends.torch_backend as tb

    monkeypatch.setattr(tb.torch.cuda, "is_available", lambda: False)
    code, _, err = cli("profile", "--device", "h100", "--check")
    msg = _flat(err)
    assert code == 2 and "is the table of h100 (an H100 GPU), which this machine is not" in msg
    assert "--check cannot compare it here" in msg and "--validate 200" in msg and "speed_reference: 5" not in msg


def test_h100_estimate_from_its_own_table_matches_it(cli, tmp_path):
    """devices/h100.yaml once set an unsourced 2.0 µs/layer: its estimate was 5x too fast (max subnet 0.166 ms,
    measured 0.892 ms) while the printed error was the fit's with 11.2 µs. Now it uses the fitted overhead."""
    from ofa_edge.space import SearchSpace

    code, out, err = cli("profile", "--device", "h100", "--estimate", "-o", str(tmp_path / "h.json"), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["layer_overhead_from"] == "fit" and doc["layer_overhead_us"] == doc["fit"]["layer_overhead_us"]
    biggest = SearchSpace.get("mbv3-w1.0-cifar").max()
    measured = LatencyTable.load(SHIPPED_TABLES / "h100.json").predict([biggest])[0]
    estimated = LatencyTable.load(doc["table"]).predict([biggest])[0]
    assert abs(estimated / measured - 1) < 0.25, (estimated, measured)


def test_estimate_with_the_device_files_overhead_says_its_error_is_not_of_that_table(cli, tmp_path):
    code, out, err = cli("profile", "--device", "jetson-orin", "--estimate", "-o", str(tmp_path / "j.json"))
    assert code == 0, err
    assert "the errors below are of the model with the fitted 11.2 µs/layer, not of this table" in _flat(out)
    assert LatencyTable.load(tmp_path / "j.json").provenance["layer_overhead_from"] == "device file"


@pytest.mark.parametrize(
    ("extra", "given"),
    [
        (("--calibrate", "8"), "--calibrate measures; --estimate measures nothing: drop it or drop --estimate."),
        (("--validate", "2"), "--validate measures;"),
        (("--max-entries", "5"), "--max-entries measures;"),
        (("--ssh", "me@nowhere"), "--ssh measures;"),
        (("--repeats", "5", "--threads", "2"), "--repeats and --threads measure;"),
        (
            ("--calibrate", "8", "--ssh", "me@nowhere"),
            "--calibrate and --ssh measure; --estimate measures nothing: drop them",
        ),
    ],
)
def test_estimate_refuses_measuring_options(cli, tmp_path, monkeypatch, extra, given):
    monkeypatch.setattr("subprocess.run", lambda *a, **k: pytest.fail("--estimate --ssh ran ssh"))
    code, _, err = cli("profile", "--device", "x86-cpu", "--estimate", "-o", str(tmp_path / "t.json"), *extra)
    assert code == 2 and given in _flat(err) and "Traceback" not in err
    assert not (tmp_path / "t.json").exists()


def test_a_device_file_reusing_a_shipped_name_does_not_overwrite_its_table(cli, tmp_path, monkeypatch):
    tables = tmp_path / "tables"
    shutil.copytree(SHIPPED_TABLES, tables)
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(tables))
    before = (tables / "raspberry-pi-5.json").read_bytes()
    typo = tmp_path / "dev" / "typo.yaml"
    typo.parent.mkdir()
    typo.write_text((SHIPPED_DEVICES / "raspberry-pi-5.yaml").read_text())
    code, _, err = cli("profile", "--device", str(typo), "--estimate")
    assert code == 2 and "is named 'raspberry-pi-5', the name of the device" in _flat(err)
    assert "--out PATH" in _flat(err) and str(tables / "raspberry-pi-5.json") in _flat(err)
    assert (tables / "raspberry-pi-5.json").read_bytes() == before
    assert cli("profile", "--device", str(typo), "--estimate", "--out", str(tmp_path / "o.json"))[0] == 0
    shipped = SHIPPED_DEVICES / "raspberry-pi-5.yaml"  # its own file is fine
    assert cli("profile", "--device", str(shipped), "--estimate")[0] == 0


def test_estimate_names_a_missing_reference_table_and_how_to_get_one(cli, tmp_path):
    code, _, err = cli(
        "profile", "--device", "x86-cpu", "--estimate", "--space", "mbv3-w1.0-imagenet", "-o", str(tmp_path / "n.json")
    )
    msg = _flat(err)
    assert code == 2 and "measured --reference table" in msg and "x86-cpu.mbv3-w1.0-imagenet.json" in msg
    assert "--reference PATH" in msg and "`ofa-edge profile --device x86-cpu --space mbv3-w1.0-imagenet`" in msg


def test_rescale_of_the_shipped_table_writes_yours_and_leaves_the_package_alone(
    cli, measured_table, tmp_path, monkeypatch
):
    """The package's tables are the module's measured one (24 px: its speed reference times in a fraction of the
    shipped one's time)."""
    monkeypatch.setattr("ofa_edge.latency.drift.load_average", lambda: 0.0)  # a quiet machine
    (tmp_path / "package").mkdir()
    shipped = _copy_of(measured_table, tmp_path / "package" / "x86-cpu.json")
    monkeypatch.setattr("ofa_edge.paths.SHIPPED_TABLES", shipped.parent)
    before = shipped.read_bytes()
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    code, out, err = cli("profile", "--rescale", "--json")
    assert code == 0, err
    said = "".join(err.split())  # rich wraps long paths anywhere
    assert json.loads(out)["table"] == str(yours) and f"table{shipped},rescaledinto{yours}" in said
    assert shipped.read_bytes() == before and json.loads(yours.read_text())["provenance"]["rescaled"]
    code, out, _ = cli("devices", "x86-cpu", "--json")
    assert code == 0 and json.loads(out)["table"] == str(yours) and json.loads(out)["table_is_yours"]
    monkeypatch.setattr("ofa_edge.latency.drift.load_average", lambda: 99.0)  # other processes hold the cores
    code, out, _ = cli("profile", "--check")
    assert code == 0 and "this machine is busy (1-minute load 99.0 on" in _flat(out)
    before = yours.read_bytes()
    code, _, err = cli("profile", "--rescale")  # the load would go into every latency of the table
    assert code == 2 and "this machine is busy (1-minute load 99.0 on" in _flat(err) and "--force" in _flat(err)
    assert yours.read_bytes() == before
    code, out, err = cli("profile", "--rescale", "--force", "--json")
    assert code == 0 and len(json.loads(yours.read_text())["provenance"]["rescaled"]) == 2, err


def test_a_shipped_table_of_another_machine_is_not_continued_yours_is_measured(cli, tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    table = json.loads((SHIPPED_TABLES / "x86-cpu.json").read_text())
    table["provenance"] |= {"host_cpu": "Other CPU", "host_cpu_id": "family 0 model 0"}
    (shipped / "x86-cpu.json").write_text(json.dumps(table))
    before = (shipped / "x86-cpu.json").read_bytes()
    monkeypatch.setattr("ofa_edge.paths.SHIPPED_TABLES", shipped)
    reads = _count_reads(monkeypatch)
    base = ("profile", "--resolutions", "24", "--warmup", "0", "--repeats", "1", "--max-entries", "2", "--json")
    code, out, err = cli(*base)
    assert code == 0, err
    assert reads[shipped / "x86-cpu.json"] == 1  # read once for the run, though three steps look at it
    assert "was measured on another machine or with other settings (host_cpu: 'Other CPU' on disk vs" in _flat(err)
    assert "space/resolutions/classes: mbv3-w1.0-cifar [24, 28, 32] 10 on disk vs mbv3-w1.0-cifar [24] 10 now" in (
        _flat(err)
    )
    assert "): measuring yours" in _flat(err)
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    assert json.loads(out)["table"] == str(yours) and json.loads(out)["entries"] == 2
    assert (shipped / "x86-cpu.json").read_bytes() == before


def test_a_shipped_table_of_this_machine_is_continued_into_yours_and_read_once(
    cli, measured_table, tmp_path, monkeypatch
):
    """The package's table is the module's measured one (this machine's, these settings): profile goes on with it
    into your table, leaving the package's file as it is."""
    (tmp_path / "package").mkdir()
    shipped = _copy_of(measured_table, tmp_path / "package" / "x86-cpu.json")
    monkeypatch.setattr("ofa_edge.paths.SHIPPED_TABLES", shipped.parent)
    before = shipped.read_bytes()
    reads = _count_reads(monkeypatch)
    code, out, err = cli("profile", "--resolutions", "24", "--warmup", "0", "--repeats", "2", "--json")
    assert code == 0, err
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    assert "you have no x86-cpu table yet: continuing the shipped" in _flat(err)
    assert json.loads(out)["table"] == str(yours) and json.loads(out)["complete"]
    assert LatencyTable.load(yours).provenance["resumed"] and shipped.read_bytes() == before
    assert reads[shipped] == 1


def test_estimate_does_not_hide_a_shipped_measured_table(cli):
    code, _, err = cli("profile", "--device", "x86-cpu", "--estimate")
    assert code == 2 and "x86-cpu has a measured table" in _flat(err) and "--out PATH" in _flat(err)


def test_a_shipped_table_is_never_written_and_no_hint_names_it(cli, tmp_path):
    """A warning's hint once said `profile -o <the shipped table> --rescale`, which rewrote the package's file."""
    from ofa_edge.latency.devices import load_device, profile_command

    shipped = SHIPPED_TABLES / "x86-cpu.json"
    before = shipped.read_bytes()
    for args in (["--rescale"], ["--max-entries", "1"], ["--estimate"]):
        code, _, err = cli("profile", "--device", "x86-cpu", "-o", str(shipped), *args)
        assert code == 2 and "is a table shipped inside the package, which is never written" in _flat(err), err
    assert shipped.read_bytes() == before
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    yours.parent.mkdir(parents=True)
    yours.write_bytes(before)  # you have a table of your own: the shipped one is not the device's own any more
    dev = load_device("x86-cpu")
    assert profile_command(dev, shipped, dev.space) == "ofa-edge profile --device x86-cpu"
    assert (
        profile_command(dev, tmp_path / "c.json", dev.space)
        == f"ofa-edge profile --device x86-cpu -o {tmp_path / 'c.json'}"
    )
    assert profile_command(dev, tmp_path / "w.json", "mbv3-w1.2-cifar", [24]).startswith(
        "ofa-edge profile --device x86-cpu --space mbv3-w1.2-cifar --resolutions 24 -o"
    )


def test_profiling_on_a_busy_machine_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("ofa_edge.cli.profile_cmd.load_average", lambda: 99.0)  # other processes hold the cores
    args = ("profile", "--resolutions", "24", "--warmup", "0", "--repeats", "1", "--max-entries", "1")
    code, _, err = cli(*args, "-o", str(tmp_path / "t.json"))
    assert code == 0 and "this machine is busy (1-minute load 99.0 on" in _flat(err), err
    monkeypatch.setattr("ofa_edge.cli.profile_cmd.load_average", lambda: 0.0)
    code, _, err = cli(*args, "-o", str(tmp_path / "t.json"))
    assert code == 0 and "this machine is busy" not in _flat(err), err


def test_a_device_on_stdin_reusing_a_known_name_does_not_take_that_devices_table(cli, tmp_path, monkeypatch):
    """``--device -`` (what --ssh runs remotely) is checked like a device file given by path."""
    import io

    import yaml

    doc = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text()) | {"threads": 1, "warmup": 3}
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(doc)))
    code, _, err = cli("profile", "--device", "-", "--max-entries", "1")
    assert code == 2 and "the name of the device" in _flat(err), err
    monkeypatch.setattr("sys.stdin", io.StringIO(yaml.safe_dump(doc)))
    code, _, err = cli("profile", "--device", "-", "--ssh", "me@board")
    assert code == 2 and "--device - reads the device from stdin" in _flat(err), err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())  # nothing piped in: refused, not a silent wait for input
    code, _, err = cli("profile", "--device", "-", "--max-entries", "1")
    assert code == 2 and "none is piped in" in _flat(err), err
