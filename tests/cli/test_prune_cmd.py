"""``ofa-edge prune`` end to end on a real CIFAR-10 subset, and its refusals."""

from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime as ort
import pytest
import torch

from ofa_edge import Supernet, save_supernet
from ofa_edge.errors import UserError
from ofa_edge.io import file_sha256, hold_lock
from ofa_edge.paths import last_search_path, work_dir
from ofa_edge.prune import load_slim
from ofa_edge.prune.pipeline import CHECKPOINT, PRUNE_OUTPUTS
from ofa_edge.space import SearchSpace


@pytest.fixture(scope="module")
def tiny_setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("prune")
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    save_supernet(Supernet(space, 10), root / "supernet.safetensors")
    space.min(24).save(root / "subnet.json")
    return root


@pytest.mark.parametrize("target", ["0", "1", "1.5", "-0.2"])
def test_target_sparsity_outside_unit_interval_exits_2(cli, tiny_setup, target: str) -> None:
    code, _, err = cli(
        "prune",
        "--subnet",
        str(tiny_setup / "subnet.json"),
        "--target-sparsity",
        target,
        "--supernet",
        str(tiny_setup / "supernet.safetensors"),
    )
    assert code == 2 and "--target-sparsity" in err


def test_missing_embedded_supernet_exits_2(cli, tiny_setup, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("ofa_edge.paths.pretrained_dir", lambda: tmp_path)
    code, _, err = cli("prune", "--subnet", str(tiny_setup / "subnet.json"), "--target-sparsity", "0.5")
    assert code == 2 and "--supernet" in err and "embedded" in err


def test_tiny_prune_on_real_data(cli, tiny_setup, data_root, tmp_path) -> None:
    out = tmp_path / "run"
    args = (
        "prune",
        "--method",
        "hesso",
        "--subnet",
        str(tiny_setup / "subnet.json"),
        "--supernet",
        str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity",
        "0.4",
        "--epochs",
        "1",
        "--data",
        str(data_root),
        "--limit-train",
        "64",
        "--limit-test",
        "64",
        "--batch-size",
        "32",
        "--out",
        str(out),
        "--json",
    )
    code, stdout, err = cli(*args, "--keep-checkpoint", "--ckpt-every", "1")
    assert code == 0, err
    r = json.loads(stdout)
    assert r["train"]["ckpt_every"] == 1
    # the outputs are swapped in together (a staged folder), the kept resume state carried along; nothing else
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert {p.name for p in out.iterdir()} == {CHECKPOINT, *PRUNE_OUTPUTS}
    assert r["files"][CHECKPOINT] == str(out / CHECKPOINT)
    code, stdout, err = cli(*args)  # the same run again: it resumes from its finished checkpoint
    assert code == 0, err
    assert f"replacing the results in {out} (hesso, target 0.4, top-1 {r['after']['top1']:.2f}%)" in " ".join(
        err.split()
    )  # and says what it replaces, as export says of a bundle
    again = json.loads(stdout)
    assert again["train"]["resumed_at_epoch"] == 1
    code, stdout, err = cli(*args[:-1])  # the summary, not --json: it ends with what to run next
    assert code == 0 and f"next: ofa-edge eval --slim {out}" in " ".join(stdout.split()), err
    # the minutes before and after training say what they are spent on (the bar stood at 0/? and n/n)
    assert "measuring the unpruned subnet" in err and "slimming, exporting and measuring the pruned network" in err
    # a finished run leaves its deliverables only: the resume checkpoint (33 MB for a 4M-param subnet) goes
    assert {p.name for p in out.iterdir()} == set(PRUNE_OUTPUTS) and CHECKPOINT not in again["files"]
    assert r["zero_groups"] == int(0.4 * r["groups"])
    assert r["slim_max_abs_diff"] <= 1e-5 and r["onnx_max_abs_diff"] <= 1e-4
    assert r["after"]["macs"] < r["before"]["macs"] and r["after"]["params"] < r["before"]["params"]
    assert r["after"]["top1"] == r["after"]["top1_group_sparse_model"]
    assert r["data"]["train_images"] == 64 and 0.0 <= r["before"]["top1"] <= 100.0
    assert r["before"]["latency_ort_cpu"]["median_ms"] > 0
    lat = r["device_latency"]  # default device x86-cpu: predicted and measured here
    assert lat["device"] == "x86-cpu" and 0 < lat["pruned_ms"] < lat["subnet_ms"]
    assert lat["pruned_measured_ms"] == r["after"]["latency_device"]["median_ms"] > 0
    assert lat["same_cpu"] == r["after"]["latency_device"]["same_cpu"]  # the table's CPU, for the measured line
    # The saved slim network rebuilds from JSON + safetensors and matches its ONNX file.
    small = load_slim(out / "slim.json")
    assert sum(p.numel() for p in small.parameters()) == r["after"]["params"]
    x = np.random.default_rng(0).standard_normal((1, 3, 24, 24)).astype(np.float32)
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        want = small(torch.from_numpy(x)).numpy()
    assert np.abs(sess.run(None, {"input": x})[0] - want).max() < 1e-4
    # The pruned network leaves through the same bundle path as `ofa-edge export`.
    bundle = tmp_path / "bundle"
    code, stdout, err = cli(
        "export", "--slim", str(out / "slim.json"), "--data", str(data_root), "--out", str(bundle), "--json"
    )
    assert code == 0, err
    manifest = json.loads(stdout)
    assert manifest["pruned_from"] == str(out / "slim.json") and manifest["params"] == r["after"]["params"]
    assert manifest["weights_sha256"] == file_sha256(out / "slim.safetensors")  # the weights it came from
    assert manifest["verification"][0]["max_abs_diff"] <= 1e-4
    assert manifest["pruning"]["top1"] == r["after"]["top1"] and manifest["pruning"]["test_images"] == 64
    assert (bundle / "model.onnx").is_file() and (bundle / "README.md").is_file()


def test_unknown_device_exits_2_before_training(cli, tiny_setup) -> None:
    code, _, err = cli(
        "prune",
        "--subnet",
        str(tiny_setup / "subnet.json"),
        "--target-sparsity",
        "0.5",
        "--supernet",
        str(tiny_setup / "supernet.safetensors"),
        "--device",
        "x86-cpux",
    )
    assert code == 2 and "unknown device 'x86-cpux'" in err and "x86-cpu" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lam", "0.1"], "--lam is for --method hspg; --method hesso would ignore it."),
        (["--method", "HSPG", "--periods", "3"], "--periods is for --method hesso; --method hspg would ignore it."),
        (["--prox-frac", "0.3"], "--prox-frac is for --method hspg; --method hesso would ignore it."),
        (
            ["--method", "hspg", "--start-frac", "0.2", "--prune-frac", "0.4"],
            "--start-frac and --prune-frac are for --method hesso; --method hspg would ignore them.",
        ),
        (["--method", "obd"], "unknown --method 'obd'; choose hesso or hspg."),
        (["--limit-train", "0"], "--limit-train 0: must be >= 1 (omit it to train on all images)."),
    ],
)
def test_options_the_method_ignores_and_unknown_methods_exit_2(cli, tiny_setup, args, message) -> None:
    code, _, err = cli(
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.5", *args,
    )  # fmt: skip
    assert code == 2 and message in " ".join(err.split()) and "Traceback" not in err


def test_the_method_options_defaults_are_the_settings_defaults() -> None:
    """Another method's option counts as given where it differs from the settings' default, so the CLI's
    defaults must be those (the settings' own-field list and defaults are the one place they live)."""
    import dataclasses
    import inspect

    from ofa_edge.cli.prune_cmd import prune
    from ofa_edge.prune.run import OWN_FIELDS, PruneSettings

    params = inspect.signature(prune).parameters
    defaults = {f.name: f.default for f in dataclasses.fields(PruneSettings)}
    options = [name for names in OWN_FIELDS.values() for name in names if name in params]
    assert options == ["start_frac", "prune_frac", "periods", "prox_frac", "lam", "epsilon"]
    assert all(params[name].default == defaults[name] for name in options)


@pytest.mark.parametrize(("flag", "value"), [("--lam", "-1"), ("--limit-train", "-5"), ("--limit-test", "-1")])
def test_negative_amounts_exit_2(cli, tiny_setup, flag: str, value: str) -> None:
    code, _, err = cli(
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.5", flag, value,
    )  # fmt: skip
    assert code == 2 and flag in err


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--lr", "nan", "--lr nan: must be a finite number > 0."),
        ("--lr", "inf", "--lr inf: must be a finite number > 0."),
        ("--lam", "nan", "--lam nan: must be a finite number >= 0."),
        ("--epsilon", "nan", "--epsilon nan: must be a finite number in [0, 1)."),
        ("--target-sparsity", "nan", "--target-sparsity nan: must be a finite number in (0, 1) (e.g. 0.5)."),
        ("--epochs", "0", "--epochs 0: must be >= 1."),
        ("--batch-size", "0", "--batch-size 0: must be >= 1."),
        ("--periods", "0", "--periods 0: must be >= 1."),
        ("--ckpt-every", "-1", "--ckpt-every -1: must be >= 0."),
        ("--start-frac", "1.5", "--start-frac 1.5: must be in [0, 1) (a fraction of all steps)."),
        ("--prune-frac", "0.95", "--start-frac 0.1 + --prune-frac 0.95: must be <= 1"),
        ("--prox-frac", "-0.1", "--prox-frac -0.1: must be in [0, 1) (a fraction of all steps)."),
    ],
)
def test_nan_and_out_of_range_options_exit_2_before_training(cli, tiny_setup, flag, value, message) -> None:
    """``--lr nan`` trained to an all-NaN model.onnx and crashed with exit 1."""
    code, _, err = cli(
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.5", flag, value,
    )  # fmt: skip
    assert code == 2 and message in " ".join(err.split()), err


def test_a_foreign_output_folder_is_not_written_to(cli, tiny_setup, tmp_path) -> None:
    """--out naming somebody else's non-empty folder is refused before any training (it used to
    receive model.onnx, slim files and result.json among the user's files)."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    args = ["prune", "--subnet", str(tiny_setup / "subnet.json"), "--target-sparsity", "0.5",
            "--supernet", str(tiny_setup / "supernet.safetensors"), "--out", str(mine)]  # fmt: skip
    code, _, err = cli(*args)
    assert code == 2 and "is not empty and is not a prune output folder" in " ".join(err.split())
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    assert "settings:" not in err and "no latency prediction" not in err  # refused before the run is set up


def test_ofa_dict_in_a_search_folder_on_an_imagefolder_tree(cli, tiny_setup, cifar_imagefolder, tmp_path) -> None:
    """An OFA arch dict that names no space is read in the supernet's space (it was read in
    ImageNet's: 'r: 24 is not one of [128, ...]'), a search output folder gives its subnet.json
    (it was 'Is a directory'), and --data takes an ImageFolder tree (prune read only packed folders)."""
    found = tmp_path / "search"
    found.mkdir()
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    (found / "subnet.json").write_text(json.dumps(cfg.to_ofa_dict()))
    code, stdout, err = cli(
        "prune", "--subnet", str(found), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.4", "--epochs", "1", "--batch-size", "10", "--data", str(cifar_imagefolder),
        "--out", str(tmp_path / "run"), "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "is a folder: using the subnet.json in it" in " ".join(err.split())
    r = json.loads(stdout)
    assert r["subnet"] == cfg.to_dict() and (r["data"]["train_images"], r["data"]["test_images"]) == (20, 10)


def test_a_folder_without_subnet_and_a_data_file_exit_2(cli, tiny_setup, tmp_path) -> None:
    """Both as eval says them (they were 'Is a directory' and 'dataset folder ... does not exist')."""
    args = ["prune", "--supernet", str(tiny_setup / "supernet.safetensors"), "--target-sparsity", "0.5"]
    code, _, err = cli(*args, "--subnet", str(tmp_path))
    assert code == 2 and "is a folder; pass the subnet JSON file in it" in " ".join(err.split())
    subnet = str(tiny_setup / "subnet.json")
    code, _, err = cli(*args, "--subnet", subnet, "--data", subnet, "--out", str(tmp_path / "run"))
    assert code == 2 and "subnet.json' is a file; pass the dataset folder." in " ".join(err.split()), err


def test_a_table_another_cpu_measured_is_said_before_pruning(tables_dir, capsys) -> None:
    """The default device is this machine: its table from another CPU is said, as search says it."""
    from ofa_edge.cli.prune_cmd import _latency_table
    from ofa_edge.host import host_info
    from ofa_edge.latency.table import LatencyTable

    table = LatencyTable.load(tables_dir / "x86-cpu.json")
    table.provenance |= {"kind": "measured", **{k: host_info()[k] for k in ("host_cpu", "host_isa")}}
    table.provenance["host_cpu_id"] = "family 0 model 0"
    table.save(tables_dir / "x86-cpu.json")
    subnet = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    assert _latency_table(None, None, subnet, None) is not None
    err = " ".join(capsys.readouterr().err.split())
    assert "the x86-cpu table was measured on another CPU" in err and "--device x86-cpu --force --calibrate 100" in err
    assert _latency_table("slow-board", None, subnet, None) is not None and "another CPU" not in capsys.readouterr().err


def test_default_output_folders_of_two_searches_subnets_and_targets_differ(cli, tiny_setup, tmp_path) -> None:
    """Every search writes subnet.json, so the default folder was prune/subnet-hesso for any subnet: pruning a
    second search's subnet, or the same one at another target, silently replaced the first run's results."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    for name, cfg, target in (("a", space.min(24), "0.5"), ("b", space.max(24), "0.5"), ("b", space.max(24), "0.7")):
        (tmp_path / name).mkdir(exist_ok=True)
        cfg.save(tmp_path / name / "subnet.json")
        code, _, err = cli(
            "prune", "--subnet", str(tmp_path / name), "--target-sparsity", target, "--data", str(tmp_path / "none"),
            "--supernet", str(tiny_setup / "supernet.safetensors"),
        )  # fmt: skip
        assert code == 2 and "does not exist" in err  # the data: stops before any work, after naming the folder
        assert f"outputfolder:{tmp_path}/ofa-edge-home/prune/subnet-{cfg.short_id()}-hesso-s{target}error:" in "".join(
            err.split()
        )


def test_a_subnet_of_another_space_exits_2_naming_the_fix(cli, tiny_setup, tmp_path) -> None:
    """The message named both spaces but not what to pass instead (export's does)."""
    SearchSpace.get("mbv3-w1.0-imagenet").min().save(tmp_path / "imagenet.json")
    code, _, err = cli(
        "prune", "--subnet", str(tmp_path / "imagenet.json"), "--target-sparsity", "0.5",
        "--supernet", str(tiny_setup / "supernet.safetensors"), "--out", str(tmp_path / "run"),
    )  # fmt: skip
    flat = " ".join(err.split())
    assert code == 2 and "pass a subnet of 'mbv3-w1.0-cifar'" in flat
    assert "or a supernet trained on 'mbv3-w1.0-imagenet' (--supernet)" in flat
    assert "settings:" not in flat and "no latency prediction" not in flat  # refused before the run is set up


def test_table_predicts_instead_of_a_device_and_must_cover_the_subnet(tables_dir, tmp_path, capsys) -> None:
    """--table PATH (the option the 'no latency table' hints name) predicts with that table, for its device,
    and says which (the device was named only in the results' title)."""
    from ofa_edge.cli.prune_cmd import _latency_table

    subnet = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    moved = tmp_path / "elsewhere.json"
    (tables_dir / "slow-board.json").rename(moved)
    table = _latency_table(None, moved, subnet, None)
    assert table is not None and table.device == "slow-board"
    said = "".join(capsys.readouterr().err.split())  # a long path folds anywhere
    assert "".join(f"latency table: {moved} (slow-board, estimated)".split()) in said, said
    with pytest.raises(UserError, match="pass --table with a table for that space"):
        _latency_table(None, tables_dir / "big-board.json", subnet, None)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--device", "x86-cpu", "--table", "t.json"], "--device and --table both name the latency table"),
        (["--table", "missing.json"], "latency table 'missing.json' does not exist"),
    ],
)
def test_table_errors_exit_2_before_training(cli, tiny_setup, args, message) -> None:
    code, _, err = cli(
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--target-sparsity", "0.5",
        "--supernet", str(tiny_setup / "supernet.safetensors"), *args,
    )  # fmt: skip
    assert code == 2 and message in " ".join(err.split())


def test_reaching_the_target_exactly_is_no_shortfall() -> None:
    """4169 of 10424 groups is int(0.4 * 10424): the target. A float32 sparsity (0.39994243) read as below it
    warned 'reached group sparsity 0.400 < target 0.4' after every such run."""
    from ofa_edge.cli.prune_cmd import _shortfall

    r = {"groups": 10424, "zero_groups": 4169, "target_sparsity": 0.4, "method": "hesso"}
    assert _shortfall(r) is None
    assert _shortfall(r | {"zero_groups": 4000, "method": "hspg"}) == (
        "reached group sparsity 0.384 (4000 of 10424 groups) < target 0.4; raise --lam or --epochs."
    )


def test_a_pruned_network_that_lost_much_accuracy_is_warned_of_with_the_fix() -> None:
    """One epoch on 256 images took a subnet from 82.4 % to 9.4 % top-1, and the command said nothing."""
    from ofa_edge.cli.prune_cmd import _accuracy_drop

    r = {
        "before": {"top1": 82.4}, "after": {"top1": 9.4}, "settings": {"epochs": 1}, "data": {"train_images": 256},
    }  # fmt: skip
    assert _accuracy_drop(r) == (
        "the pruned network scores 9.4% against the unpruned subnet's 82.4% (-73.0 pt) after 1 epoch(s) on 256 "
        "training images: pruning recovers accuracy by training; give it more --epochs (default 10) and images "
        "(drop --limit-train)."
    )
    assert _accuracy_drop(r | {"after": {"top1": 75.0}}) is None  # a few points: what pruning costs


def test_the_summary_says_where_the_resume_checkpoint_went(capsys) -> None:
    from ofa_edge.cli.prune_cmd import _files_line

    r = {"out_dir": "/runs/a", "files": {name: f"/runs/a/{name}" for name in PRUNE_OUTPUTS}}
    assert _files_line(r) == (
        "wrote /runs/a: model.onnx, slim.json, slim.safetensors, subnet.json, result.json "
        "(the resume checkpoint is removed; --keep-checkpoint keeps it)"
    )
    r["files"][CHECKPOINT] = f"/runs/a/{CHECKPOINT}"
    assert _files_line(r).endswith("result.json, checkpoint.safetensors (resume state, kept)")


def test_missing_data_exits_2_before_the_run_is_set_up(cli, tiny_setup, tmp_path) -> None:
    """It was refused only after the supernet, subnet and latency table were loaded and the progress bar drawn."""
    code, _, err = cli(
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.5", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run"),
    )  # fmt: skip
    flat = " ".join(err.split())
    assert code == 2 and "dataset folder" in flat and "does not exist" in flat
    assert "settings:" not in flat and "latency table" not in flat and "━" not in err


def test_without_data_or_cifar10_the_embedded_supernet_prunes_on_the_shipped_sample(cli, tmp_path, monkeypatch) -> None:
    """As eval, export and quickstart do from a wheel: it stopped with "no --data, and no CIFAR-10"."""
    for module in ("ofa_edge.data", "ofa_edge.data.formats"):  # a wheel install
        monkeypatch.setattr(f"{module}.DEFAULT_ROOT", tmp_path / "no-cifar")
    SearchSpace.get("mbv3-w1.0-cifar").min(24).save(tmp_path / "min.json")
    args = ("prune", "--subnet", str(tmp_path / "min.json"), "--target-sparsity", "0.5", "--out", str(tmp_path / "r"))
    code, _, err = cli(*args, "--device", "no-such-board")  # stops before training, after picking the data
    flat = " ".join(err.split())
    assert code == 2 and "using the CIFAR-10 sample shipped" in flat and "unknown device" in flat, err
    code, _, err = cli(*args, "--limit-train", "2001")  # more than the sample holds
    assert code == 2 and "fewer than --limit-train 2001" in " ".join(err.split()), err


def test_a_search_result_is_pruned_from_the_searched_supernet(cli, tiny_setup, data_root, tmp_path) -> None:
    """A subnet that `search --supernet mine` chose was pruned from the embedded supernet's weights, silently
    (eval and export take the search's supernet); prune takes it too, and says so."""
    found = tmp_path / "search"
    found.mkdir()
    cfg = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    cfg.save(found / "subnet.json")
    mine = tiny_setup / "supernet.safetensors"
    (found / "search.json").write_text(json.dumps({"subnet": cfg.to_dict(), "supernet": str(mine)}))
    code, _, err = cli(
        "prune", "--subnet", str(found), "--target-sparsity", "0.5", "--data", str(data_root),
        "--out", str(tmp_path / "run"), "--device", "no-such-board",  # stops before training
    )  # fmt: skip
    flat = " ".join(err.split())
    assert code == 2 and "unknown device" in flat, err
    assert f"no --supernet: using the supernet the search used, {mine}" in flat
    assert "embedded" not in flat


def _last_search(supernet, *subnets) -> None:
    """A last search result, as `ofa-edge search` records it, that chose ``subnets[0]`` from ``supernet``."""
    top_k = [{"rank": i + 1, "id": c.short_id(), "subnet": c.to_dict()} for i, c in enumerate(subnets)]
    last_search_path().parent.mkdir(parents=True, exist_ok=True)
    last_search_path().write_text(
        json.dumps({"subnet": subnets[0].to_dict(), "supernet": str(supernet), "top_k": top_k})
    )


def _squeezed(text: str) -> str:
    """``text`` without whitespace: a note's long path is folded across lines."""
    return "".join(text.split())


def _stopped_before_training(cli, data_root, *args: str) -> str:
    """Run prune with ``args`` up to the latency table (an unknown device stops it before training); its stderr,
    :func:`_squeezed`."""
    code, _, err = cli(
        "prune", *args, "--target-sparsity", "0.5", "--data", str(data_root), "--device", "no-such-board"
    )
    assert code == 2 and "unknown device" in err, err
    return _squeezed(err)


def test_without_subnet_the_last_search_result_is_pruned_from_its_supernet(cli, tiny_setup, data_root) -> None:
    """`ofa-edge search --latency 15ms && ofa-edge prune --target-sparsity 0.5`, as export takes it."""
    chosen, mine = SearchSpace.get("mbv3-w1.0-cifar").min(24), tiny_setup / "supernet.safetensors"
    _last_search(mine, chosen)
    said = _stopped_before_training(cli, data_root)
    assert _squeezed(f"no --subnet: using the last search result {last_search_path()} (id {chosen.short_id()},") in said
    assert _squeezed(f"no --supernet: using the supernet the search used, {mine}") in said
    # the folder a prune of the search's own subnet.json gets: the same run, however the subnet was named
    assert _squeezed(f"output folder: {work_dir() / 'prune' / f'subnet-{chosen.short_id()}-hesso-s0.5'}") in said


def test_subnet_id_prunes_that_subnet_of_the_last_searchs_top_k(cli, tiny_setup, data_root) -> None:
    space, mine = SearchSpace.get("mbv3-w1.0-cifar"), tiny_setup / "supernet.safetensors"
    first, second = space.min(24), space.min(32)
    _last_search(mine, first, second)
    said = _stopped_before_training(cli, data_root, "--subnet", second.short_id())
    assert _squeezed(f"output folder: {work_dir() / 'prune' / f'subnet-{second.short_id()}-hesso-s0.5'}") in said
    assert _squeezed(f"no --supernet: using the supernet the search used, {mine}") in said
    code, _, err = cli("prune", "--subnet", "abcdef", "--target-sparsity", "0.5")
    flat = " ".join(err.split())
    assert code == 2 and f"no subnet of the last search's top-k has that id (ids: {first.short_id()}, " in flat


def test_without_subnet_or_a_last_search_exits_2_naming_the_fix(cli) -> None:
    code, _, err = cli("prune", "--target-sparsity", "0.5")
    flat = " ".join(err.split())
    assert code == 2 and f"no last search result at '{last_search_path()}'" in flat
    assert flat.startswith("error: no --subnet was given")
    assert "Run `ofa-edge search --latency 15ms` first, or pass a subnet JSON file." in flat


def test_the_summary_shows_what_pruning_changed() -> None:
    """The table showed before and after only: the saving (what a user prunes for) was left to mental arithmetic."""
    from ofa_edge.cli.prune_cmd import _change_row

    before = {"top1": 77.6, "macs": 104_086_256, "params": 4_135_826, "latency_ort_cpu": {"median_ms": 4.684}}
    after = {"top1": 69.6, "macs": 74_491_960, "params": 1_125_390, "latency_ort_cpu": {"median_ms": 2.768}}
    assert _change_row(before, after) == ["change", "-8.00 pt", "-28.4%", "-72.8%", "1.69x faster"]
    after["latency_ort_cpu"]["median_ms"] = 5.0
    assert _change_row(before, after)[-1] == "1.07x slower"


def test_a_second_prune_into_the_same_folder_is_refused_while_the_first_runs(cli, tiny_setup, data_root, tmp_path):
    """Two runs into one --out would overwrite each other's resume checkpoint: the second exits 2 at once."""
    out = tmp_path / "run"
    args = (
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--target-sparsity", "0.5", "--data", str(data_root), "--limit-train", "32", "--limit-test", "32",
        "--out", str(out),
    )  # fmt: skip
    with hold_lock(tmp_path / ".run.lock", "held by the first"):  # the first run's lock, as prune_subnet takes it
        code, _, err = cli(*args)
    assert code == 2 and "held by the first" not in err
    said = " ".join(err.split())
    assert f"another `ofa-edge prune` (process {os.getpid()}) is writing '{out}' now" in said, err
    assert said.endswith("or choose another output folder (--out).")
    assert not out.exists()


def test_the_default_device_is_the_searchs_with_the_table_it_predicted_with(tables_dir, tmp_path, capsys) -> None:
    """prune predicted for x86-cpu after a search for another device; export follows the search's device."""
    from ofa_edge.cli.prune_cmd import _latency_table
    from ofa_edge.export.last_search import LastSearch

    subnet = SearchSpace.get("mbv3-w1.0-cifar").min(24)
    own = tmp_path / "board-table.json"  # the search's --table: not where table_for_device looks
    (tables_dir / "slow-board.json").rename(own)
    searched = LastSearch(tmp_path / "search.json", subnet, device="slow-board", tables={"slow-board": own})
    table = _latency_table(None, None, subnet, searched)
    assert table is not None and table.device == "slow-board"
    said = " ".join(capsys.readouterr().err.split())
    assert "device: slow-board (the device of the search that chose the subnet; pass --device NAME" in said
    here = _latency_table(None, None, subnet, None)  # a subnet file no search chose: this machine's
    assert here is not None and here.device == "x86-cpu"


def test_ctrl_c_in_prune_says_whether_a_checkpoint_was_kept(cli, tiny_setup, data_root, tmp_path, monkeypatch):
    """Stopped before its first checkpoint a prune starts afresh; the CLI's line said every long job resumes. A
    checkpoint kept by a run of another target in the same --out was said to resume this one, which ignores it."""
    out = tmp_path / "run"
    args = (
        "prune", "--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"),
        "--epochs", "1", "--limit-train", "32", "--limit-test", "32", "--data", str(data_root), "--out", str(out),
        "--target-sparsity",
    )  # fmt: skip
    code, _, err = cli(*args, "0.5", "--keep-checkpoint")  # a finished run, its checkpoint kept
    assert code == 0 and (out / CHECKPOINT).is_file(), err

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ofa_edge.prune.pipeline.prune_subnet", interrupted)
    code, _, err = cli(*args, "0.5")  # the same run: it would resume from the checkpoint, and re-measure
    said = " ".join(err.split())
    assert code == 130 and f"resumes from the checkpoint in '{out}'" in said, err
    assert f"The results already in '{out}' are as they were." in said
    code, _, err = cli(*args, "0.3")  # another target into the same folder: the checkpoint is not its own
    said = " ".join(err.split())
    assert code == 130 and "interrupted before the first checkpoint" in said and "resumes" not in said, err
    assert f"the checkpoint in '{out}' is another run's" in said and "starts afresh" in said
    code, _, err = cli(*args[:-3], "--out", str(tmp_path / "new"), "--target-sparsity", "0.5")  # an empty folder
    said = " ".join(err.split())
    assert code == 130 and "nothing of this run was kept, and running the same command again starts afresh." in said
    assert "results already in" not in said


def test_few_training_images_are_warned_of_for_the_bn_recalibration(cli, tiny_setup, data_root) -> None:
    """--limit-train 1 recalibrated the unpruned subnet's BN on one image (its 'before' top-1 22 % where 2,000
    images give 73 %) and said nothing, where export and eval warn of a --bn-images that low."""
    args = ("--subnet", str(tiny_setup / "subnet.json"), "--supernet", str(tiny_setup / "supernet.safetensors"))
    said = _stopped_before_training(cli, data_root, *args, "--limit-train", "64")
    assert "warning:--limit-train64:batch-normstatisticsfromsofewimagescostaccuracy" in said, said
    assert "--limit-train" not in _stopped_before_training(cli, data_root, *args, "--limit-train", "200")


def test_a_refused_option_leaves_no_folders_of_out_behind(cli, tiny_setup, tmp_path) -> None:
    """The --out check made --out's parents before the subnet's space was refused: a/b stayed, empty."""
    SearchSpace.get("mbv3-w1.0-imagenet").min().save(tmp_path / "imagenet.json")
    code, _, err = cli(
        "prune", "--subnet", str(tmp_path / "imagenet.json"), "--target-sparsity", "0.5",
        "--supernet", str(tiny_setup / "supernet.safetensors"), "--out", str(tmp_path / "a" / "b" / "c"),
    )  # fmt: skip
    assert code == 2 and "pass a subnet of 'mbv3-w1.0-cifar'" in " ".join(err.split()), err
    assert not (tmp_path / "a").exists()
