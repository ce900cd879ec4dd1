"""Machine-speed reference: round-robin timing, samples put back at the baseline speed, tables rescaled."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.host import ISA_FEATURES, host_info
from ofa_edge.latency.backends import OnnxRuntimeBackend
from ofa_edge.latency.drift import SWITCH_WARMUP, SpeedReference, rescale, same_cpu, timed_rounds
from ofa_edge.latency.table import LatencyTable
from ofa_edge.latency.validate import summary_markdown, validation_report
from ofa_edge.paths import SHIPPED_TABLES
from ofa_edge.space.genome import encode


class Host:
    """A host whose speed is set by the test: every network takes ``base_ms * speed``, and with
    ``switch`` its first calls after another network ran take ``switch[i]`` times as long."""

    def __init__(self, switch: tuple[float, ...] = ()) -> None:
        self.speed = 1.0
        self.switch = switch
        self.calls: list[tuple[str, int, int]] = []

    def timer(self, name: str, base_ms: float):
        def run(warmup: int, repeats: int) -> np.ndarray:
            after_other = not self.calls or self.calls[-1][0] != name
            self.calls.append((name, warmup, repeats))
            slow = np.ones(warmup + repeats)
            if after_other:
                k = min(len(self.switch), len(slow))
                slow[:k] = self.switch[:k]
            return base_ms * self.speed * slow[warmup:]

        return run


def _reference(host: Host) -> SpeedReference:
    bases = np.array([2.0, 3.0, 5.0])
    return SpeedReference([host.timer(f"ref{i}", b) for i, b in enumerate(bases)], bases)


def test_rounds_time_every_network_round_robin_with_warmup_first():
    host = Host()
    timers = [host.timer("a", 1.0), host.timer("b", 4.0)]
    a, b = timed_rounds(timers, warmup=5, repeats=10, rounds=4)
    assert len(a) == len(b) == 12  # ceil(10 / 4) per round
    assert host.calls == [("a", 5, 3), ("b", 5, 3)] + [("a", SWITCH_WARMUP, 3), ("b", SWITCH_WARMUP, 3)] * 3
    np.testing.assert_array_equal(b, 4.0)


SWITCH = (1.52, 1.44, 1.14, 1.03, 1.03)  # first calls after switching networks, measured on an Intel Xeon VM


def test_readings_and_rounds_time_past_the_switch_transient():
    """A reading on a host at its baseline speed reads 1, although each network's first calls after
    another ran are slow; so do the rounds' samples (one untimed call read 1.14 here)."""
    host = Host(SWITCH)
    ref = _reference(host)
    assert ref.reading() == pytest.approx(1.0)
    a, b = timed_rounds([host.timer("a", 1.0), host.timer("b", 4.0)], warmup=10, repeats=8, reference=ref)
    np.testing.assert_allclose(a, 1.0)
    np.testing.assert_allclose(b, 4.0)


def test_a_slower_host_is_measured_at_the_baseline_speed():
    host = Host()
    ref = _reference(host)
    timers = [host.timer("a", 1.5), host.timer("b", 0.2)]
    host.speed = 1.3  # e.g. the clock boost ended after the baseline was taken
    plain = timed_rounds(timers, 1, 8)
    normalised = timed_rounds(timers, 1, 8, ref)
    np.testing.assert_allclose(plain[0], 1.5 * 1.3)
    np.testing.assert_allclose(normalised[0], 1.5, rtol=1e-12)
    np.testing.assert_allclose(normalised[1], 0.2, rtol=1e-12)


def test_each_round_is_divided_by_the_readings_around_it():
    host = Host()
    ref = _reference(host)
    speeds = iter([1.0, 1.2, 1.2, 0.8, 0.8])  # set at each reading: before round 0, after rounds 0..3
    original = ref.reading

    def reading() -> float:
        host.speed = next(speeds)
        return original()

    ref.reading = reading  # type: ignore[method-assign]
    (a,) = timed_rounds([host.timer("a", 2.0)], 0, 4, ref, rounds=4)
    # round r runs at the speed set by the reading before it, and is divided by the mean of its readings
    want = 2.0 * np.array([1.0 / 1.1, 1.2 / 1.2, 1.2 / 1.0, 0.8 / 0.8])
    np.testing.assert_allclose(a, want)


def test_a_real_reference_reads_about_one_and_is_restored_from_a_table(small_table: LatencyTable):
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    ref = SpeedReference.start(backend, small_table.space, small_table.resolutions, 10, 1, n=2, warmup=2)
    assert ref.baseline_ms.shape == (2,) and np.all(ref.baseline_ms > 0)
    assert 0.3 < ref.reading() < 3.0  # the same machine moments later: near its baseline
    assert SpeedReference.of_table(backend, small_table, 1) is None  # measured without one
    small_table.provenance["speed_reference"] = ref.provenance()
    back = SpeedReference.of_table(OnnxRuntimeBackend("cpu", 1, clock="thread_cpu"), small_table, 1)
    assert back is not None and back.baseline_ms.tolist() == ref.baseline_ms.tolist()
    assert back.timers == ref.timers  # a backend of the same settings: the subnets prepared once in this process
    wall = SpeedReference.of_table(OnnxRuntimeBackend("cpu", 1, clock="wall"), small_table, 1)
    assert wall is not None and not set(wall.timers) & set(ref.timers)  # other settings: prepared for them


def test_a_baseline_of_the_wrong_length_is_refused(small_table: LatencyTable):
    backend = OnnxRuntimeBackend("cpu", 1, clock="thread_cpu")
    with pytest.raises(ValueError, match="baseline"):
        SpeedReference.start(backend, small_table.space, [24], 10, 1, n=2, baseline_ms=[1.0])


def test_rescale_multiplies_every_prediction_and_records_where_the_numbers_came_from():
    shipped = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    genomes = encode(shipped.search_space, [shipped.search_space.sample(np.random.default_rng(i)) for i in range(50)])
    check = {"factor": 1.7, "readings": [1.6, 1.7, 1.7, 1.8, 1.7]}
    scaled = rescale(shipped, check)
    np.testing.assert_allclose(scaled.predict(genomes), 1.7 * shipped.predict(genomes), rtol=1e-9)
    np.testing.assert_allclose(scaled.predict_lut(genomes), 1.7 * shipped.predict_lut(genomes), rtol=1e-9)
    base = shipped.provenance["speed_reference"]["baseline_ms"]
    np.testing.assert_allclose(scaled.provenance["speed_reference"]["baseline_ms"], 1.7 * np.array(base))
    key = next(iter(shipped.entries))
    assert scaled.entries[key]["count"] == shipped.entries[key]["count"]
    (record,) = scaled.provenance["rescaled"]
    assert record["factor"] == 1.7 and record["readings"] == check["readings"]
    assert record["from"]["host_cpu"] == shipped.provenance["host_cpu"] and record["from"]["date"]
    assert scaled.provenance["host_isa"] == host_info()["host_isa"]
    assert "rescaled" not in shipped.provenance  # the input is left alone
    assert len(rescale(scaled, check).provenance["rescaled"]) == 2
    cfgs = [shipped.search_space.sample(np.random.default_rng(i)) for i in range(3)]
    report = validation_report(scaled, cfgs, scaled.predict(cfgs), seed=0)
    assert report["rescaled_by"] == [1.7] and report["corrected"]["mape_pct"] < 1e-9


def test_same_cpu_compares_the_model_the_generation_and_the_vector_isa():
    here = host_info()
    recorded = {k: here[k] for k in ("host_cpu", "host_cpu_id", "host_isa")}
    assert same_cpu(recorded) is True
    missing = min(ISA_FEATURES - set(here["host_isa"].split()))  # a feature this CPU lacks
    assert same_cpu(recorded | {"host_isa": " ".join(sorted([*here["host_isa"].split(), missing]))}) is False
    assert same_cpu(recorded | {"host_cpu_id": "family 0 model 0"}) is False  # another generation, same name
    assert same_cpu({"host_cpu": "Apple M3"}) is False
    assert same_cpu({"host_cpu": here["host_cpu"]}) is None  # tables from before the id and ISA were recorded


def test_a_table_rescaled_from_another_cpu_is_flagged_until_its_correction_is_fitted_here():
    """--rescale makes the table's host this machine, but its block costs and correction are still the other
    CPU's: search and prune warn until a correction is fitted on this CPU; a rescale from this CPU is just speed."""
    from ofa_edge.latency.calibrate import calibrate_table
    from ofa_edge.latency.devices import load_device
    from ofa_edge.latency.drift import other_cpu_warning

    dev, here = load_device("x86-cpu"), host_info()
    shipped = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    check = {"factor": 1.3, "readings": [1.3] * 5}
    shipped.provenance |= {f: here[f] for f in ("host_cpu", "host_cpu_id", "host_isa")}
    assert other_cpu_warning(dev, rescale(shipped, check), "t.json") is None  # this CPU's table: only speed moved
    shipped.provenance |= {"host_cpu": "Other CPU", "host_cpu_id": "family 0 model 0"}
    assert "measured on another CPU" in other_cpu_warning(dev, shipped, "t.json")
    scaled = rescale(shipped, check)
    message = other_cpu_warning(dev, scaled, "t.json")
    assert "holds another CPU's block costs (Other CPU, family 0 model 0), rescaled" in message
    assert "--calibrate 100" in message
    assert "holds another CPU's block costs (Other CPU" in other_cpu_warning(dev, rescale(scaled, check), "t.json")
    third = rescale(shipped, check)  # rescaled on one machine, used on a third: another CPU's table, plainly
    third.provenance |= {"host_cpu": "Third CPU", "host_cpu_id": "family 1 model 1"}
    assert "measured on another CPU (Third CPU" in other_cpu_warning(dev, third, "t.json")
    cfgs = [scaled.search_space.sample(np.random.default_rng(i)) for i in range(10)]
    calibrate_table(scaled, cfgs, scaled.predict(cfgs))  # timed here, as `profile --calibrate` does
    assert scaled.correction["fitted_here"]["host_cpu_id"] == here["host_cpu_id"]
    assert other_cpu_warning(dev, scaled, "t.json") is None


def test_a_correction_fitted_on_another_cpu_is_named_with_that_cpu():
    """`profile --validate` on a table rescaled here printed the other CPU's fit error as its correction's."""
    from ofa_edge.latency.calibrate import calibrate_table
    from ofa_edge.latency.drift import correction_fitted_elsewhere

    here = host_info()
    table = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    table.correction.pop("fitted_here", None)  # fitted where the table was measured
    table.provenance |= {"host_cpu": "Other CPU", "host_cpu_id": "family 0 model 0"}
    assert correction_fitted_elsewhere(table) == "Other CPU, family 0 model 0"
    scaled = rescale(table, {"factor": 1.3, "readings": [1.3] * 5})  # the host fields are this machine's now
    assert correction_fitted_elsewhere(scaled) == "Other CPU, family 0 model 0"
    cfgs = [scaled.search_space.sample(np.random.default_rng(i)) for i in range(10)]
    report = validation_report(scaled, cfgs, scaled.predict(cfgs), seed=0)
    assert report["correction_fitted_on"] == "Other CPU, family 0 model 0"
    assert "subnets of Other CPU, family 0 model 0, not the CPU validated here" in summary_markdown(report, "p", "c")
    calibrate_table(scaled, cfgs, scaled.predict(cfgs))
    assert correction_fitted_elsewhere(scaled) is None
    scaled.correction["fitted_here"] |= {"host_cpu": "Third CPU", "host_cpu_id": "family 1 model 1"}
    assert correction_fitted_elsewhere(scaled) == "Third CPU, family 1 model 1"
    table.provenance |= {f: here[f] for f in ("host_cpu", "host_cpu_id", "host_isa")}
    assert correction_fitted_elsewhere(table) is None
    table.correction = None
    assert correction_fitted_elsewhere(table) is None
