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
