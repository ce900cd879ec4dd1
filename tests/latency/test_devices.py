"""Device files: every shipped one validates; unknown names and bad fields are user errors."""

from __future__ import annotations

import pytest
import yaml

from ofa_edge.errors import UserError
from ofa_edge.latency.devices import known_devices, load_device, parse_device
from ofa_edge.paths import devices_dir

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


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"runtime": "tflite"}, "runtime"),
        ({"provider": "metal"}, "provider"),
        ({"resolutions": [64]}, "resolutions"),
        ({"threads": 0}, "threads"),
        ({"space": "nope"}, "unknown search space"),
        ({"datasheet": {"peak_flops": "fast", "memory_bandwidth": 1e9, "source": "x"}}, "peak_flops"),
        ({"clock": "thread_cpu", "threads": 4}, "thread_cpu"),
        ({"speed_reference": -1}, "speed_reference"),
        ({"speed_reference": "yes"}, "speed_reference"),
    ],
)
def test_bad_fields_are_named(tmp_path, change, field):
    data = yaml.safe_load((devices_dir() / "x86-cpu.yaml").read_text())
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
    data = yaml.safe_load((devices_dir() / "h100.yaml").read_text())
    with pytest.raises(UserError, match="accelerator"):
        parse_device(data | {"accelerator": 100}, "x", "x.yaml")
