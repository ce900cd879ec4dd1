"""Table format: provenance round-trip, completeness checks, corrupt and foreign files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ofa_edge.errors import UserError
from ofa_edge.latency.blocks import random_subnets
from ofa_edge.latency.calibrate import active_block_count
from ofa_edge.latency.table import LatencyTable
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.genome import encode


def test_provenance_and_entries_round_trip(small_table, tmp_path):
    small_table.provenance.update({"host_cpu": "AMD EPYC", "accelerator": None, "threads": 1})
    small_table.correction = {"kind": "linear-lut-blocks", "scale": 1.2, "per_block": 0.01, "offset": 0.1}
    small_table.save(tmp_path / "t.json")
    back = LatencyTable.load(tmp_path / "t.json")
    assert back.provenance == small_table.provenance
    assert back.entries == small_table.entries
    assert back.correction == small_table.correction
    assert (back.device, back.estimated) == ("x86-cpu", False)


def test_missing_entries_are_rejected_with_keys_named(small_table, tmp_path):
    gone = sorted(small_table.entries)[:2]
    for k in gone:
        del small_table.entries[k]
    small_table.save(tmp_path / "t.json")
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "t.json")
    assert "missing 2 entries" in str(e.value)
    assert all(k in str(e.value) for k in gone)


def test_one_missing_entry_is_named_in_the_singular_and_not_blamed_on_an_interrupted_profile(small_table, tmp_path):
    del small_table.entries[min(small_table.entries)]
    small_table.save(tmp_path / "t.json")
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "t.json")
    assert "is missing 1 entry:" in str(e.value) and "marked complete" in str(e.value)
    assert "interrupted" not in str(e.value) and "--force" in str(e.value)


def test_a_wrong_num_classes_is_named_with_the_classes_its_classifier_times(small_table, tmp_path):
    (tmp_path / "t.json").write_text(json.dumps(small_table.to_dict() | {"num_classes": 100}))
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "t.json")
    msg = str(e.value)
    assert "says num_classes 100, but its classifier entries time 10 classes" in msg
    assert "Set its num_classes to 10" in msg and "--classes 100" in msg and "interrupted" not in msg


def test_a_stat_that_is_no_number_is_refused(small_table, tmp_path):
    """JSON's true would read as 1.0 ms, a string as its number: both are hand edits to refuse."""
    data = small_table.to_dict()
    key = min(data["entries"])
    for bad in (True, "3"):
        data["entries"][key]["median"] = bad
        with pytest.raises(UserError, match=f"entry '{key}': median must be a number, got {bad!r}"):
            LatencyTable.from_dict(data, "t.json")


def test_a_partial_table_predicts_nothing_and_says_how_to_finish_it(small_table):
    data = small_table.to_dict()
    key = min(data["entries"])
    del data["entries"][key]
    partial = LatencyTable.from_dict(data, "t.json")  # what load(require_complete=False) returns
    with pytest.raises(UserError, match=rf"lacks 1 of its entries \(e.g. '{key}'\).*ofa-edge profile --device"):
        partial.predict([SearchSpace.get(partial.space).max(24)])


def test_partial_table_is_never_taken_as_complete(small_table, tmp_path):
    small_table.complete = False  # all entries present but the run never finished
    small_table.save(tmp_path / "t.json")
    with pytest.raises(UserError, match="partial"):
        LatencyTable.load(tmp_path / "t.json")
    assert LatencyTable.load(tmp_path / "t.json", require_complete=False).complete is False


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("x86-cpu.yaml", b"name: x86-cpu\nbackend: onnxruntime\n", "is a YAML file, not an ofa-edge latency table"),
        ("supernet.safetensors", b"\xa2\x00\x00\x00{}", "is a safetensors file, not an ofa-edge latency table"),
        ("subnet.json", b'{"space": "mbv3-w1.0-cifar", "resolution": 32, "depth": []}', "is a subnet, not an ofa"),
        ("search.json", b'{"subnet": {"resolution": 32}, "device": "x86-cpu"}', "is a search report, not an ofa"),
        ("slim.json", b'{"format": "ofa-edge-slim/1"}', "is an ofa-edge-slim/1 file, not an ofa-edge latency table"),
        ("bundle.json", b'{"format": "onnx"}', "is a file of format 'onnx', not an ofa-edge latency table"),
    ],
)
def test_other_files_are_named_for_what_they_are(tmp_path, name, content, message):
    """A YAML or safetensors file said 'not valid JSON ...; re-run `ofa-edge profile`', the wrong fix."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UserError, match=message) as e:
        LatencyTable.load(tmp_path / name)
    assert "pass a latency table's .json file" in str(e.value) and "re-run" not in str(e.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"format": "something-else", "entries": {}}), "not an ofa-edge latency table"),
        (json.dumps([1, 2, 3]), "not an ofa-edge latency table"),
        (json.dumps({"format": "ofa-edge-latency/1", "space": "mbv3-w1.0-cifar"}), "corrupt"),
    ],
)
def test_corrupt_or_foreign_files_are_user_errors(tmp_path, content, message):
    (tmp_path / "t.json").write_text(content)
    with pytest.raises(UserError, match=message):
        LatencyTable.load(tmp_path / "t.json")


@pytest.mark.parametrize(
    ("field", "value", "needs"),
    [("median", -5.0, "> 0"), ("median", float("nan"), "> 0"), ("mean", 0.0, "> 0"), ("std", float("inf"), ">= 0")],
)
def test_hand_edited_entries_are_refused_naming_key_and_file(small_table, tmp_path, field, value, needs):
    key = sorted(small_table.entries)[3]
    small_table.entries[key][field] = value
    small_table.save(tmp_path / "t.json")  # NaN and Infinity are written as JSON's NaN / Infinity
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "t.json")
    assert (
        f"latency table '{tmp_path / 't.json'}': entry '{key}' has {field} {value!r}, not a finite number {needs}"
        in (str(e.value))
    )


def test_a_correction_that_is_not_a_number_is_refused(small_table, tmp_path):
    small_table.correction = {"kind": "linear-lut-blocks", "scale": float("nan"), "per_block": 0.01, "offset": "0.1"}
    small_table.save(tmp_path / "t.json")
    with pytest.raises(UserError, match=r"correction scale nan, offset '0.1' is not a finite number"):
        LatencyTable.load(tmp_path / "t.json")


def test_correction_is_applied_per_config_and_vectorized(small_table):
    space = SearchSpace.get(small_table.space)
    cfgs = random_subnets(space.name, [24], 50, seed=3)
    g = encode(space, cfgs)
    lut = small_table.predict_lut(g)
    small_table.correction = {"kind": "linear-lut-blocks", "scale": 1.1, "per_block": 0.02, "offset": 0.3}
    blocks = np.array([sum(c.depth) for c in cfgs])
    assert np.allclose(small_table.predict(cfgs), 1.1 * lut + 0.02 * blocks + 0.3)
    assert np.array_equal(active_block_count(space, g), blocks)
    # the weights term folds in exactly: per_mparam ms per million parameters of the whole subnet
    small_table.correction |= {"per_mparam": 0.07}
    params_m = CostModel(space, 10).params(cfgs[:5]) / 1e6  # equals the extracted modules' counts (tests/space)
    assert np.allclose(small_table.predict(cfgs[:5]), 1.1 * lut[:5] + 0.02 * blocks[:5] + 0.07 * params_m + 0.3)
    # the correction can change after a first prediction; an affine one without per_block works too
    small_table.correction = {"scale": 2.0, "offset": 1.0}
    assert np.allclose(small_table.predict(g), 2 * lut + 1)


def test_predict_names_a_wrong_argument(small_table):
    cifar, imagenet = SearchSpace.get("mbv3-w1.0-cifar"), SearchSpace.get("mbv3-w1.0-imagenet")
    cfg = cifar.min()
    for predict in (small_table.predict, small_table.predict_lut):
        with pytest.raises(UserError, match=r"table.predict\(\[cfg\]\)"):
            predict(cfg)
        with pytest.raises(UserError, match="table.predict: item 0: expected a SubnetConfig, got dict"):
            predict([cfg.to_dict()])
        with pytest.raises(UserError, match="item 1: the subnet is of space 'mbv3-w1.0-imagenet'"):
            predict([cfg, imagenet.min()])
        with pytest.raises(UserError, match="got generator"):
            predict(c for c in [cfg])
        for bad in (
            np.zeros((2, 10), np.uint8),
            np.zeros(46, np.uint8),
            np.zeros((2, 46)),
        ):
            with pytest.raises(UserError, match=r"shape \(N, 46\)"):
                predict(bad)
        kernel_out_of_range = np.zeros((2, 46), np.uint8)
        kernel_out_of_range[1, 6 + 3] = 3  # three kernel choices: a 4th would read block 4's latency
        with pytest.raises(UserError, match=r"genome 1, column 9 \(kernel of block 3\) is 3.*indices 0 to 2"):
            predict(kernel_out_of_range)
        assert predict([]).shape == (0,)


def test_predict_refuses_a_resolution_the_table_does_not_cover(small_table):
    cifar = SearchSpace.get("mbv3-w1.0-cifar")
    assert small_table.resolutions == [24]
    assert np.isfinite(small_table.predict([cifar.min(24)])).all()
    with pytest.raises(UserError, match=r"covers resolutions \[24\], not \[32\].*--resolutions"):
        small_table.predict([cifar.min(24), cifar.max(32)])
    genomes = encode(cifar, [cifar.min(24), cifar.max(32)])
    with pytest.raises(UserError, match=r"not \[32\]"):
        small_table.predict(genomes)  # as genomes too: they would read NaN


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"entries": []}, "corrupt"),
        ({"correction": {"scale": 1.0}}, "correction lacks offset"),
        (
            {"resolutions": [24, 40]},
            r"resolutions 40 is not in space mbv3-w1.0-cifar \(24, 28, 32\); fix its.*--force`",
        ),
        ({"resolutions": []}, r"lists no resolutions, so it predicts nothing.*`ofa-edge profile --device x86-cpu -o "),
        ({"num_classes": 10.9}, "num_classes must be an integer, got 10.9"),  # never truncated to 10
        ({"num_classes": "10"}, "num_classes must be an integer, got '10'"),
        ({"resolutions": [32.0]}, r"resolutions must be integers, got 32.0"),
        ({"complete": "false"}, "complete must be true or false, got 'false'"),  # a non-empty string is truthy
    ],
)
def test_structurally_wrong_tables_are_refused_at_load(small_table, tmp_path, change, message):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(small_table.to_dict() | change))
    with pytest.raises(UserError, match=message):
        LatencyTable.load(path, require_complete=False)


def test_load_of_a_folder_or_a_non_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="is a folder; pass the table's .json file"):
        LatencyTable.load(tmp_path)
    with pytest.raises(UserError, match="must be a str or Path"):
        LatencyTable.load(None)


def test_missing_table_names_the_command_for_its_device_and_space(tmp_path, monkeypatch):
    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(tmp_path))
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "x86-cpu.mbv3-w1.0-imagenet.json")
    assert "run `ofa-edge profile --device x86-cpu --space mbv3-w1.0-imagenet` first" in str(e.value)
    with pytest.raises(UserError) as e:
        LatencyTable.load(tmp_path / "mine.json")
    assert "NAME" not in str(e.value) and f"--device <device> -o {tmp_path / 'mine.json'}" in str(e.value)


def test_a_missing_table_names_the_profile_command_that_writes_it(tmp_path):
    """A --table path outside the table folders was told to run a profile that writes elsewhere."""
    from ofa_edge.paths import latency_tables_dir

    with pytest.raises(UserError, match=rf"run `ofa-edge profile --device h100 -o {tmp_path}/h100\.json` first"):
        LatencyTable.load(tmp_path / "h100.json")
    with pytest.raises(UserError, match=r"run `ofa-edge profile --device h100` first"):
        LatencyTable.load(latency_tables_dir() / "h100.json")
    with pytest.raises(UserError, match=rf"--device <device> -o {tmp_path}/board\.json"):
        LatencyTable.load(tmp_path / "board.json")


def test_a_missing_table_meant_for_a_device_names_the_command_that_profiles_that_device(tmp_path):
    """The device the caller means the table for (search's --device beside --table) names the command, whatever
    the file is called; a device with no device file is named as given."""
    with pytest.raises(UserError, match=rf"run `ofa-edge profile --device jetson-orin -o {tmp_path}/orin\.json` first"):
        LatencyTable.load(tmp_path / "orin.json", device="jetson-orin")
    with pytest.raises(UserError, match=rf"run `ofa-edge profile --device board -o {tmp_path}/t\.json` first"):
        LatencyTable.load(tmp_path / "t.json", device="board")
    with pytest.raises(UserError, match=r"--device x86-cpu --space mbv3-w1\.0-imagenet -o"):
        LatencyTable.load(tmp_path / "x86-cpu.mbv3-w1.0-imagenet.json", device="x86-cpu")


def test_status_says_measured_or_estimated_corrected_and_rescaled():
    from ofa_edge.latency.drift import rescale
    from ofa_edge.paths import SHIPPED_TABLES

    x86 = LatencyTable.load(SHIPPED_TABLES / "x86-cpu.json")
    assert x86.status == "measured + corrected"
    assert rescale(x86, {"factor": 1.1, "readings": [1.1]}).status == "measured + corrected, rescaled"
    assert LatencyTable.load(SHIPPED_TABLES / "pixel-8.json").status == "estimated"


def test_searchable_devices_are_named_before_the_first_dot_of_a_table_file(tmp_path, monkeypatch):
    from ofa_edge.latency.table import searchable_devices

    monkeypatch.setenv("OFA_EDGE_LATENCY_TABLES", str(tmp_path))
    for name in ("board.json", "board.mbv3-w1.0-imagenet.json", "board.remeasure.json"):
        (tmp_path / name).write_text("{}")
    names = searchable_devices()
    assert "board" in names and not any(n.startswith("board.") for n in names)


def test_every_unusable_table_names_the_command_that_makes_that_table_again(small_table, tmp_path):
    """A corrupt, damaged or partial table said a bare `ofa-edge profile`, which profiles another device (the last
    one profiled) into another file: the command names the table's device, its -o and what remakes it."""
    from ofa_edge.paths import latency_tables_dir

    mine = tmp_path / "t.json"
    mine.write_text("{not json")
    with pytest.raises(UserError, match=rf"make it again with `ofa-edge profile --device orin -o {mine} --force`"):
        LatencyTable.load(mine, device="orin")
    mine.write_text(json.dumps(small_table.to_dict() | {"entries": []}))
    with pytest.raises(UserError, match=rf"corrupt .*`ofa-edge profile --device x86-cpu -o {mine} --force`"):
        LatencyTable.load(mine)
    small_table.entries[min(small_table.entries)]["median"] = -1.0
    small_table.save(mine)
    with pytest.raises(UserError, match=rf"make the table again with `ofa-edge profile --device x86-cpu -o {mine} --f"):
        LatencyTable.load(mine)
    small_table.entries[min(small_table.entries)]["median"] = 1.0
    small_table.correction = {"scale": float("nan"), "offset": 0.0}
    small_table.save(mine)
    with pytest.raises(
        UserError, match=rf"null and fit it again with `ofa-edge profile --device x86-cpu -o {mine} --c"
    ):
        LatencyTable.load(mine)
    small_table.correction, small_table.complete = None, False
    small_table.save(mine)
    with pytest.raises(UserError, match=rf"run `ofa-edge profile --device x86-cpu --resolutions 24 -o {mine}` again"):
        LatencyTable.load(mine)
    small_table.save(latency_tables_dir() / "x86-cpu.json")
    with pytest.raises(UserError, match=r"run `ofa-edge profile --device x86-cpu --resolutions 24` again"):
        LatencyTable.load(latency_tables_dir() / "x86-cpu.json")
    del small_table.entries[min(small_table.entries)]
    small_table.complete = True
    small_table.save(mine)
    with pytest.raises(UserError, match=rf"re-profile it \(`ofa-edge profile --device x86-cpu -o {mine} --force`\)"):
        LatencyTable.load(mine)
