"""Device files: every shipped one validates; unknown names and bad fields are user errors; yours come first."""

from __future__ import annotations

import pytest
import yaml

from ofa_edge.errors import UserError
from ofa_edge.latency.devices import (
    find_device_file,
    find_table_path,
    is_own_table,
    known_devices,
    load_device,
    parse_device,
    table_path,
)
from ofa_edge.latency.table import LatencyTable, UnusableTable, table_for_device
from ofa_edge.paths import SHIPPED_DEVICES, SHIPPED_TABLES

REQUIRED = {"jetson-orin", "jetson-orin-nano", "raspberry-pi-5", "pixel-8", "x86-cpu", "h100"}


def test_shipped_devices_load_with_datasheet_sources():
    assert REQUIRED <= set(known_devices())
    for name in known_devices():
        dev = load_device(name)
        assert dev.datasheet.peak_flops > 1e9 and dev.datasheet.memory_bandwidth > 1e9
        assert len(dev.datasheet.source) > 20
        assert dev.warmup >= 0 and dev.repeats > 0


def test_unknown_device_suggests_the_nearest_name():
    with pytest.raises(UserError) as e:
        load_device("jetson-orn")
    assert "Did you mean 'jetson-orin'" in str(e.value)
    assert "raspberry-pi-5" in str(e.value)


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:1", "GPU"])
def test_a_torch_device_given_for_a_latency_device_says_which_is_which(name):
    with pytest.raises(UserError) as e:
        load_device(name)
    assert f"'{name}' is where a network runs (train and eval's --device)" in str(e.value)
    assert "Did you mean" not in str(e.value)  # 'cpu' is close to 'x86-cpu', but that is not the mistake
    with pytest.raises(UserError, match=f"'{name}' is where a network runs"):
        table_for_device(name)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"runtime": "tflite"}, "runtime"),
        ({"provider": "metal"}, "provider"),
        ({"resolutions": [64]}, r"resolutions 64 is not in space mbv3-w1.0-cifar \(24, 28, 32\)\."),
        ({"resolutions": []}, r"resolutions is empty; list some of space mbv3-w1.0-cifar's \(24, 28, 32\)"),
        # a string said '32 is not in space …', hiding that it is a string
        ({"resolutions": ["32", 28]}, r"must be integers, unquoted \(e.g. \[24, 28, 32\]\); got '32' \(str\)\."),
        ({"resolutions": [32.0, True]}, r"got 32.0 \(float\), True \(bool\)\."),
        ({"threads": 0}, "threads"),
        ({"space": "nope"}, "unknown search space"),
        ({"datasheet": {"peak_flops": "fast", "memory_bandwidth": 1e9, "source": "x"}}, "peak_flops"),
        ({"clock": "thread_cpu", "threads": 4}, "thread_cpu"),
        ({"speed_reference": -1}, "speed_reference"),
        ({"speed_reference": "yes"}, "speed_reference"),
        ({"datasheet": {"peak_flops": 0, "memory_bandwidth": 1e9, "source": "x"}}, "peak_flops must be a finite"),
        ({"datasheet": {"peak_flops": -1e12, "memory_bandwidth": 1e9, "source": "x"}}, "peak_flops must be a finite"),
        ({"datasheet": {"peak_flops": "nan", "memory_bandwidth": 1e9, "source": "x"}}, "peak_flops must be a finite"),
        ({"datasheet": {"peak_flops": 1e12, "memory_bandwidth": "inf", "source": "x"}}, "memory_bandwidth must be"),
        # a figure in another unit (18 meant 18 GB/s) gave an estimated table of 2e8 ms blocks, exit 0
        ({"datasheet": {"peak_flops": 1e12, "memory_bandwidth": 18, "source": "x"}}, "write e.g. 18G"),
        ({"datasheet": {"peak_flops": 380, "memory_bandwidth": 1e9, "source": "x"}}, "write e.g. 380G"),
        ({"datasheet": {"peak_flops": "380 GFLOPS", "memory_bandwidth": 1e9, "source": "x"}}, "not a number in FLOP/s"),
        ({"layer_overhead_us": -2.0}, "layer_overhead_us must be a finite number >= 0"),
        ({"arch": ""}, "arch must name an architecture"),
        ({"arch": 64}, "arch"),
        ({"name": "../elsewhere"}, "cannot name its table file"),  # its table would land outside the folder
        ({"name": "my board"}, "cannot name its table file"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, field):
    data = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    data.update(change)
    with pytest.raises(UserError, match=field):
        parse_device(data, "x", "x.yaml")


def test_gpu_devices_name_their_accelerator_and_refuse_another():
    h100, h200 = load_device("h100"), load_device("h200")
    assert h100.accelerator_mismatch("NVIDIA H100 80GB HBM3") is None
    assert h200.accelerator_mismatch("NVIDIA H200") is None
    why = h100.accelerator_mismatch("NVIDIA H200")
    assert why and "'h100'" in why and "H100" in why and "NVIDIA H200" in why
    assert h100.accelerator_mismatch(None) is None  # unreadable: not refused on a guess
    assert load_device("x86-cpu").accelerator_mismatch("NVIDIA H200") is None  # names none
    assert load_device("jetson-orin").accelerator_mismatch("Orin (nvgpu)") is None
    assert h200.accelerator_mismatch("NVIDIA GH200 480GB")  # an H100-class chip, whatever its name holds


def test_accelerator_must_be_text(tmp_path):
    data = yaml.safe_load((SHIPPED_DEVICES / "h100.yaml").read_text())
    with pytest.raises(UserError, match="accelerator"):
        parse_device(data | {"accelerator": 100}, "x", "x.yaml")


def test_arm_devices_name_their_host_architecture_and_refuse_another():
    pi = load_device("raspberry-pi-5")
    assert {load_device(n).arch for n in ("raspberry-pi-5", "pixel-8", "jetson-orin", "jetson-orin-nano")} == {
        "aarch64"
    }
    assert pi.arch_mismatch("aarch64") is None and pi.arch_mismatch("arm64") is None  # macOS spells it arm64
    assert pi.arch_mismatch("x86_64") == (
        "raspberry-pi-5 runs on aarch64 but this machine is x86_64: profile it with --ssh user@host, "
        "run ofa-edge on the device, or --estimate."
    )
    assert load_device("x86-cpu").arch is None and load_device("x86-cpu").arch_mismatch("aarch64") is None
    data = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    assert parse_device(data | {"arch": "AMD64"}, "x").arch == "x86_64"  # Windows' spelling


def test_invalid_yaml_is_one_line_with_its_position(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nruntime: onnxruntime\n  provider: cpu\n")
    with pytest.raises(UserError) as e:
        load_device(bad)
    assert str(e.value) == (
        f"device file '{bad}' is not valid YAML (line 3, column 11: mapping values are not allowed here); fix it there."
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"repeatz": 5}, "unknown field 'repeatz'. Did you mean 'repeats'?"),
        ({"colour": "red"}, "unknown field 'colour'. Known fields: name, description"),
        (
            {"datasheet": {"peak_flops": 1e12, "memory_bandwidth": 1e9, "source": "x", "bandwith": 2}},
            "unknown datasheet field 'bandwith'. Did you mean 'memory_bandwidth'?",
        ),
    ],
)
def test_unknown_fields_are_refused_with_the_nearest_known_one(change, message):
    data = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text()) | change
    with pytest.raises(UserError) as e:
        parse_device(data, "x", "x.yaml")
    assert message in " ".join(str(e.value).split())


def test_every_shipped_layer_overhead_has_a_source():
    """docs/latency.md: a ``layer_overhead_us`` comes with its derivation in a comment just above it
    (h100's unsourced 2.0 made its estimate 5x too fast)."""
    for path in sorted(SHIPPED_DEVICES.glob("*.yaml")):
        lines = path.read_text().splitlines()
        at = [i for i, line in enumerate(lines) if line.startswith("layer_overhead_us:")]
        for i in at:
            comment = []
            for line in reversed(lines[:i]):
                if not line.startswith("#"):
                    break
                comment.append(line)
            assert any("Source:" in c for c in comment), (
                f"{path.name}: layer_overhead_us without a '# ... Source:' comment"
            )


def test_your_tables_and_device_files_come_before_the_shipped_ones(tmp_path, monkeypatch):
    dev = load_device("x86-cpu")
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    assert table_path(dev) == yours  # profile writes here, never into the package
    assert find_table_path(dev) == SHIPPED_TABLES / "x86-cpu.json" and is_own_table(dev, yours)
    yours.parent.mkdir(parents=True)
    yours.write_text((SHIPPED_TABLES / "x86-cpu.json").read_text())
    assert find_table_path(dev) == yours and table_for_device("x86-cpu")[1] == yours
    assert not is_own_table(dev, SHIPPED_TABLES / "x86-cpu.json")  # search no longer reads it
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(mine))
    (mine / "x86-cpu.yaml").write_text(
        yaml.safe_dump(yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text()) | {"repeats": 7})
    )
    assert load_device("x86-cpu").repeats == 7 and load_device("h100").name == "h100"
    assert find_device_file("x86-cpu") == mine / "x86-cpu.yaml" and "x86-cpu" in known_devices()


def test_a_partial_table_of_yours_names_the_shipped_one_to_use_meanwhile(tmp_path):
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json"
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.complete = False
    table.save(yours)
    with pytest.raises(
        UnusableTable, match=r"run `ofa-edge profile --device x86-cpu` again.*Until then, the shipped"
    ) as e:
        table_for_device("x86-cpu")
    assert e.value.stand_in == SHIPPED_TABLES / "x86-cpu.json"  # what quickstart goes on with


def _redefine_x86_cpu(tmp_path, monkeypatch) -> None:
    """Your own x86-cpu device file (other repeats), replacing the shipped one."""
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(mine))
    (mine / "x86-cpu.yaml").write_text(
        (SHIPPED_DEVICES / "x86-cpu.yaml").read_text().replace("repeats:", "repeats: 7 #")
    )


def test_no_shipped_table_stands_in_for_your_partial_table_of_a_device_you_redefined(tmp_path, monkeypatch):
    _redefine_x86_cpu(tmp_path, monkeypatch)
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.complete = False
    table.save(tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.json")
    with pytest.raises(
        UserError, match=r"run `ofa-edge profile --device x86-cpu` again \(with the options it had\) to finish it\.$"
    ) as e:
        table_for_device("x86-cpu")
    assert not isinstance(e.value, UnusableTable)  # the shipped table had the shipped file's settings


def test_your_device_file_replacing_a_shipped_one_does_not_get_the_shipped_table(tmp_path, monkeypatch):
    _redefine_x86_cpu(tmp_path, monkeypatch)
    with pytest.raises(UserError, match=r"replaces the shipped 'x86-cpu', so the shipped table"):
        table_for_device("x86-cpu")
    assert find_table_path(load_device("x86-cpu")) == table_path(load_device("x86-cpu"))  # yours to measure


def test_a_device_file_named_unlike_its_name_field_is_refused(tmp_path, monkeypatch):
    """A copied shipped file keeps `name: x86-cpu`: its table would go to x86-cpu.json, search would look for mine.json."""
    mine = tmp_path / "mine"
    mine.mkdir()
    monkeypatch.setenv("OFA_EDGE_DEVICES", str(mine))
    (mine / "my-cpu.yaml").write_text((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    with pytest.raises(UserError, match=r"says `name: x86-cpu`.*set `name: my-cpu` in it, or rename the file"):
        load_device("my-cpu")
    assert load_device(mine / "my-cpu.yaml").name == "x86-cpu"  # a file given by path is that file's device


def test_datasheet_figures_take_a_unit_suffix():
    data = yaml.safe_load((SHIPPED_DEVICES / "x86-cpu.yaml").read_text())
    data["datasheet"] |= {"peak_flops": "190G", "memory_bandwidth": "1.8e10"}  # YAML reads 1.8e10 as a string
    dev = parse_device(data, "x", "x.yaml")
    assert (dev.datasheet.peak_flops, dev.datasheet.memory_bandwidth) == (1.9e11, 1.8e10)


def test_a_device_read_from_text_must_say_its_name():
    """``profile --device -`` (what --ssh runs remotely) reads the YAML from stdin: no file name to fall back on."""
    from ofa_edge.latency.devices import device_from_text

    text = (SHIPPED_DEVICES / "x86-cpu.yaml").read_text()
    assert device_from_text(text).name == "x86-cpu"
    data = yaml.safe_load(text)
    del data["name"]
    with pytest.raises(UserError, match="must say its `name:`"):
        device_from_text(yaml.safe_dump(data))
    with pytest.raises(UserError, match="not valid YAML"):
        device_from_text("name: [")


def test_a_device_as_yaml_reads_back_as_the_same_device():
    """``profile --ssh`` sends ``Device.to_yaml()``: the remote machine must read back this very device."""
    from ofa_edge.latency.devices import device_from_text, known_devices

    for name in known_devices():
        assert device_from_text(load_device(name).to_yaml()) == load_device(name), name


def test_find_table_path_takes_a_device_name_as_the_cli_does():
    """A name gave AttributeError: 'str' object has no attribute 'name'."""
    assert find_table_path("x86-cpu") == find_table_path(load_device("x86-cpu")) == SHIPPED_TABLES / "x86-cpu.json"
    with pytest.raises(UserError, match="unknown device 'x86-cpux'. Did you mean 'x86-cpu'"):
        find_table_path("x86-cpux")


def test_table_for_device_takes_a_space_for_its_table_of_another_space(tmp_path):
    """A <device>.<space>.json table (`ofa-edge profile --space`) had no way in from Python."""
    assert table_for_device("x86-cpu", space="mbv3-w1.0-cifar")[1] == SHIPPED_TABLES / "x86-cpu.json"  # its own
    with pytest.raises(UserError, match=r"no latency table of space 'mbv3-w1.2-cifar'.*--space mbv3-w1.2-cifar`"):
        table_for_device("x86-cpu", space="mbv3-w1.2-cifar")
    yours = tmp_path / "xdg-data" / "ofa-edge" / "latency_tables" / "x86-cpu.mbv3-w1.2-cifar.json"
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.space, table.complete = "mbv3-w1.2-cifar", False  # an interrupted profile --space mbv3-w1.2-cifar
    table.save(yours)
    with pytest.raises(UserError, match="x86-cpu.mbv3-w1.2-cifar.json") as e:
        table_for_device("x86-cpu", space="mbv3-w1.2-cifar")
    assert "shipped table" not in str(e.value)  # the shipped one is of another space: no stand-in


def test_a_folder_named_like_a_device_file_is_no_device(tables_dir):
    """A folder `dir.yaml` in your devices folder was listed as device 'dir', which then was "unknown device 'dir'.
    Did you mean 'dir'?" in `ofa-edge devices`."""
    (tables_dir.parent / "devices" / "dir.yaml").mkdir()
    assert "dir" not in known_devices()
    with pytest.raises(UserError) as e:
        load_device("dir")
    assert "Did you mean 'dir'" not in str(e.value)


def test_table_for_device_names_the_table_option_by_field_and_flag():
    """Its hints named only the flag (--table PATH); a Python caller passes SearchOptions(tables=...)."""
    from ofa_edge.errors import for_cli

    with pytest.raises(UserError) as e:
        table_for_device("x86-cpux")
    assert "Pass tables (--table) PATH to a latency table" in str(e.value)
    assert "Pass --table PATH to a latency table" in for_cli(e.value)  # the command's wording
