"""Profiling really runs ONNX Runtime, flushes partial tables and resumes them."""

from __future__ import annotations

import dataclasses
import shutil

import pytest

from ofa_edge.errors import UserError
from ofa_edge.latency.backends import require_backend
from ofa_edge.latency.devices import load_device, table_path
from ofa_edge.latency.drift import ROUNDS
from ofa_edge.latency.keys import required_keys
from ofa_edge.latency.profiler import shipped_to_continue, start_profile
from ofa_edge.latency.table import LatencyTable
from ofa_edge.paths import SHIPPED_TABLES
from ofa_edge.space import SearchSpace

SPACE = "mbv3-w1.0-cifar"


def _run(path, max_entries, on_entry=None, **kw):
    dev = load_device("x86-cpu")
    args = {"space": SPACE, "resolutions": [24], "num_classes": 10, "warmup": 1, "repeats": 3, "threads": 1} | kw
    job = start_profile(dev, require_backend(dev), path, **args)
    return job.fill(max_entries, on_entry)


@pytest.fixture(scope="module")
def complete_table(tmp_path_factory):
    """A complete table measured once for the module (``_run(path, None)``); tests copy it."""
    path = tmp_path_factory.mktemp("complete") / "x86-cpu.json"
    assert _run(path, None).complete
    return path


def _cut_off(complete, path, entries: int = 1) -> LatencyTable:
    """``complete`` cut to its first ``entries`` entries and saved at ``path`` as the partial table of a profile
    stopped there (without what only a finished one records)."""
    table = LatencyTable.load(complete)
    table.entries = dict(list(table.entries.items())[:entries])
    table.complete = False
    for finished_only in ("finished", "load_avg_end"):
        del table.provenance[finished_only]
    table.save(path)
    return table


def test_interrupted_profile_is_partial_and_resumes(tmp_path):
    path = tmp_path / "x86-cpu.json"
    first = _run(path, 3)
    assert not first.complete and len(first.entries) == 3
    with pytest.raises(UserError, match="missing"):
        LatencyTable.load(path)
    on_disk = LatencyTable.load(path, require_complete=False)
    assert on_disk.provenance["kind"] == "measured" and on_disk.provenance["backend"] == "onnxruntime-cpu"
    assert on_disk.provenance["host_cpu"] and on_disk.provenance["clock"] == "thread_cpu"
    assert len(on_disk.provenance["speed_reference"]["baseline_ms"]) == 5  # x86-cpu's speed_reference: 5

    progress: list[tuple[int, int, str]] = []
    second = _run(path, 2, on_entry=lambda *a: progress.append(a))
    assert len(second.entries) == 5 and not second.complete
    keys = required_keys(SearchSpace.get(SPACE), [24], 10)
    assert progress == [(3, len(keys), ""), (4, len(keys), keys[3]), (5, len(keys), keys[4])]
    assert list(second.entries) == keys[:5]  # continued in order, kept the first three as measured
    assert all(second.entries[k] == first.entries[k] for k in keys[:3])
    assert all(v["median"] > 0 and v["count"] >= 1 for v in second.entries.values())
    assert "resumed" in second.provenance
    assert second.provenance["speed_reference"] == first.provenance["speed_reference"]  # one scale for both parts


def test_resuming_with_other_settings_is_refused(tmp_path, complete_table):
    path = tmp_path / "x86-cpu.json"
    _cut_off(complete_table, path)
    with pytest.raises(UserError, match="other settings"):
        _run(path, 1, resolutions=[28])
    assert len(_run(path, 1, resolutions=[28], force=True).entries) == 1
    table = LatencyTable.load(path, require_complete=False)
    table.provenance["host_cpu_id"] = "family 0 model 0"  # same model name, another CPU generation
    table.save(path)
    with pytest.raises(UserError, match="host_cpu_id"):
        _run(path, 1, resolutions=[28])


def test_table_path_rule():
    dev = load_device("x86-cpu")
    assert table_path(dev).name == "x86-cpu.json"
    assert table_path(dev, "mbv3-w1.0-imagenet").name == "x86-cpu.mbv3-w1.0-imagenet.json"


def _other_host(prov):
    prov["host"] = "someone-elses-laptop"


def _other_gpu(prov):
    prov["accelerator"] = "NVIDIA H200"  # same host, another accelerator


def _old_readings(prov):
    del prov["speed_reference"]["warmup"]  # as written before readings warmed up 5 calls


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_other_host, "someone-elses-laptop"),
        (_other_gpu, "accelerator: 'NVIDIA H200' on disk vs None now"),
        (_old_readings, "after 1 untimed call"),
    ],
)
def test_a_table_from_another_machine_or_protocol_is_not_continued(tmp_path, complete_table, change, message):
    path = tmp_path / "x86-cpu.json"
    table = _cut_off(complete_table, path)
    change(table.provenance)
    table.save(path)
    with pytest.raises(UserError, match=message):
        _run(path, 1)


def test_force_keeps_the_table_until_the_new_one_is_complete_and_a_cut_off_run_goes_on(tmp_path, complete_table):
    """--force cut off by Ctrl-C replaced a complete table with a partial one, and the same command again
    started from zero: the table now stays until the re-measured one is complete, which a rerun continues."""
    from ofa_edge.latency.e2e import e2e_path
    from ofa_edge.latency.profiler import remeasure_path

    path, staging = tmp_path / "x86-cpu.json", remeasure_path(tmp_path / "x86-cpu.json")
    shutil.copy(complete_table, path)
    old = LatencyTable.load(path)  # a complete table, and end-to-end timings beside it
    e2e_path(path).parent.mkdir(exist_ok=True)
    e2e_path(path).write_text("{}")
    before = path.read_bytes()
    assert len(_run(path, 2, force=True).entries) == 2 and path.read_bytes() == before
    assert len(LatencyTable.load(staging, require_complete=False).entries) == 2
    again = _run(path, None, force=True)  # the same command again: goes on from the 2, then replaces the table
    assert again.complete and len(again.entries) == len(old.entries) and not staging.exists()
    assert LatencyTable.load(path).provenance["resumed"] and not e2e_path(path).exists()


def test_a_cut_off_force_run_with_other_settings_is_measured_afresh_and_says_why(tmp_path, complete_table):
    from ofa_edge.latency.profiler import remeasure_path

    path = tmp_path / "x86-cpu.json"
    shutil.copy(complete_table, path)
    _run(path, 2, force=True)  # cut off
    dev = load_device("x86-cpu")
    args = {"space": SPACE, "resolutions": [24], "num_classes": 10, "warmup": 1, "repeats": 5, "threads": 1}
    with start_profile(dev, require_backend(dev), path, force=True, **args) as job:
        assert job.staging == remeasure_path(path) and not job.table.entries
        assert job.restarted == "made with other settings: repeats: 3 on disk vs 5 now"


def test_a_second_profile_of_the_same_table_is_refused_while_the_first_runs(tmp_path):
    """Two profiles of one table timed each other's load and overwrote each other's entries."""
    path = tmp_path / "x86-cpu.json"
    dev = load_device("x86-cpu")
    args = {"space": SPACE, "resolutions": [24], "num_classes": 10, "warmup": 1, "repeats": 3, "threads": 1}
    with start_profile(dev, require_backend(dev), path, **args) as first:
        with pytest.raises(UserError, match=r"another `ofa-edge profile` \(process \d+\) is writing"):
            _run(path, 1)
        first.fill(1)
    assert not (tmp_path / ".x86-cpu.json.lock").exists()  # let go, and its file removed
    assert len(_run(path, 1).entries) == 2


def test_start_profile_takes_the_device_settings_it_leaves_out(tmp_path):
    """From Python every setting had to be passed again, though the device holds them (docs/latency.md did)."""
    dev = dataclasses.replace(load_device("x86-cpu"), speed_reference=0)  # nothing timed on opening
    with start_profile(dev, require_backend(dev), str(tmp_path / "t.json")) as job:  # a str path too
        table = job.table
    assert (table.space, table.resolutions, table.num_classes) == (dev.space, sorted(dev.resolutions), 10)
    got = {k: table.provenance[k] for k in ("warmup", "repeats", "threads")}
    assert got == {"warmup": dev.warmup, "repeats": dev.repeats, "threads": dev.threads}


def test_shipped_to_continue_is_the_shipped_measured_table_while_you_have_none():
    """What `ofa-edge profile` goes on from, for Python callers (it was the command's private helper)."""
    dev = load_device("x86-cpu")
    shipped = shipped_to_continue("x86-cpu")  # a name, as load_device takes it
    assert shipped is not None and shipped.path == SHIPPED_TABLES / "x86-cpu.json" and shipped.table.complete
    assert shipped_to_continue(load_device("pixel-8")) is None  # estimated: nothing measured to go on from
    table_path(dev).parent.mkdir(parents=True)
    shutil.copy(shipped.path, table_path(dev))
    assert shipped_to_continue(dev) is None  # yours is there


def test_fill_and_the_end_to_end_timings_use_the_settings_start_profile_was_given(tmp_path, complete_table):
    """``fill`` and ``calibrate_and_validate`` asked again for the warmup and repeats that start_profile had
    put in the table's provenance: a caller passing others got entries timed otherwise than it says."""
    dev = load_device("x86-cpu")
    args = {"space": SPACE, "resolutions": [24], "num_classes": 10, "warmup": 0, "repeats": 2, "threads": 1}
    with start_profile(dev, require_backend(dev), tmp_path / "x86-cpu.json", **args) as job:
        table = job.fill(max_entries=2)
        # 2 repeats take one call in each of the ROUNDS rounds (the device's 40 would take 40)
        assert len(table.entries) == 2 and all(e["count"] <= ROUNDS for e in table.entries.values())
        assert (table.provenance["warmup"], table.provenance["repeats"]) == (0, 2) != (dev.warmup, dev.repeats)
    path = tmp_path / "complete.json"
    shutil.copy(complete_table, path)  # measured with 1 warmup and 3 repeats: reopened to validate with others
    with start_profile(dev, require_backend(dev), path, **args) as job:
        report = job.calibrate_and_validate(0, 2, seed=0)
    assert report is not None and (report["protocol"]["warmup"], report["protocol"]["repeats"]) == (0, 2)
