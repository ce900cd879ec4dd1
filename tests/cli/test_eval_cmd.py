"""``ofa-edge eval``: top-1 after BN recalibration equals a hand computation on the same images."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from rich.progress import Progress, TaskID

from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.sample import SAMPLE_ROOT, sample_classes
from ofa_edge.data.transforms import Preprocess, normalize, resize
from ofa_edge.prune import load_slim, save_slim
from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.supernet.bn_calibration import BN_CALIB_BATCH, recalibrate_bn
from ofa_edge.supernet.checkpoint import save_supernet


def test_eval_subnet_matches_hand_computation(cli, data_root, tmp_path) -> None:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    net = Supernet(space, 10)
    save_supernet(net, tmp_path / "sn.safetensors")
    cfg = space.sample(np.random.default_rng(2))
    cfg.save(tmp_path / "sub.json")
    code, out, err = cli(
        "eval", "--supernet", str(tmp_path / "sn.safetensors"), "--subnet", str(tmp_path / "sub.json"),
        "--data", str(data_root), "--limit", "24", "--calib-images", "16", "--device", "cpu", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert "eval sub" in err and "1/1" in err  # the progress bar, on stderr
    assert "--bn-images 16: batch-norm statistics from so few images cost accuracy" in " ".join(err.split())
    doc = json.loads(out)
    got = doc["subnets"]["sub"]["top1"]

    val = load_dataset(data_root, "test", limit=24, seed=0)
    calib = load_dataset(data_root, "train", limit=16, seed=0)
    sub = net.extract(cfg)
    with torch.no_grad():
        recalibrate_bn(sub, [resize(normalize(calib.images, space.mean, space.std), cfg.resolution)])
        pred = sub(resize(normalize(val.images, space.mean, space.std), cfg.resolution)).argmax(1)
    assert got == pytest.approx(100.0 * int((pred == val.labels).sum()) / 24)
    assert doc["images"] == 24 and doc["subnets"]["sub"]["config"] == cfg.to_dict()


def test_eval_bad_input_exits_2(cli, data_root, tmp_path) -> None:
    code, _, err = cli("eval", "--supernet", str(tmp_path / "none.safetensors"), "--data", str(data_root))
    assert code == 2 and "does not exist" in " ".join(err.split())
    (tmp_path / "x.safetensors").write_bytes(b"garbage")
    code, _, err = cli("eval", "--supernet", str(tmp_path / "x.safetensors"), "--probes", "--subnet", "a.json")
    assert code == 2 and "either --subnet" in " ".join(err.split())
    code, _, err = cli("eval", "--supernet", str(tmp_path / "x.safetensors"), "--device", "mps")
    assert code == 2 and "--device must be cpu, cuda, cuda:N or auto" in " ".join(err.split())
    code, _, err = cli("eval", "--supernet", str(tmp_path / "x.safetensors"), "--device", "cuda:x")
    assert code == 2 and "--device must be cpu, cuda, cuda:N or auto, got 'cuda:x'." in " ".join(err.split())
    code, _, err = cli("eval", "--supernet", str(tmp_path / "x.safetensors"), "--device", "jetson-orin")
    assert code == 2 and "'jetson-orin' is a latency device: it goes to profile, search" in " ".join(err.split())
    code, _, err = cli("eval", "--supernet", str(tmp_path / "x.safetensors"), "--subnet", str(tmp_path))
    assert code == 2 and "is a folder; pass the subnet JSON file in it" in " ".join(err.split()), err


def test_eval_defaults_to_the_embedded_supernet(cli, data_root, tmp_path) -> None:
    """Without --supernet it loads the embedded checkpoint (it once picked the predictor file beside it)."""
    SearchSpace.get("mbv3-w1.0-cifar").min().save(tmp_path / "min.json")
    code, out, err = cli(
        "eval", "--subnet", str(tmp_path / "min.json"), "--data", str(data_root), "--limit", "20",
        "--calib-images", "20", "--device", "cpu", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert doc["supernet"].endswith("pretrained/supernet.safetensors") and doc["subnets"]["min"]["top1"] > 20
    assert "overstates" not in err
    code, out, err = cli(
        "eval", "--subnet", str(tmp_path / "min.json"), "--data", str(data_root), "--limit", "20",
        "--calib-images", "20", "--device", "cpu", "--split", "train", "--json",
    )  # fmt: skip
    assert code == 0 and json.loads(out)["split"] == "train", err
    assert "images the supernet trained on" in " ".join(err.split()) and "overstates" in err


def test_eval_without_the_embedded_supernet_exits_2(cli, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("ofa_edge.paths.pretrained_dir", lambda: tmp_path / "not-installed")
    code, _, err = cli("eval", "--probes", "--device", "cpu")
    assert code == 2 and "not-installed" in err and "Pass --supernet PATH" in " ".join(err.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "0"], "--limit 0: must be >= 1."),
        (["--calib-images", "0"], "--bn-images 0: must be >= 1."),
        (["--batch-size", "-1"], "--batch-size -1: must be >= 1."),
        (["--seed", "-1"], "--seed -1: must be >= 0."),
    ],
)
def test_eval_range_errors_name_the_option(cli, tmp_path, args, message) -> None:
    code, _, err = cli("eval", "--supernet", str(tmp_path / "sn.safetensors"), *args)
    assert code == 2 and message in " ".join(err.split()), err


def test_eval_unknown_split_lists_the_splits(cli, data_root, tmp_path) -> None:
    save_supernet(Supernet(SearchSpace.get("mbv3-w1.0-cifar"), 10), tmp_path / "sn.safetensors")
    code, _, err = cli(
        "eval", "--supernet", str(tmp_path / "sn.safetensors"), "--data", str(data_root), "--split", "val",
        "--device", "cpu",
    )  # fmt: skip
    assert code == 2 and f"unknown split 'val'; the dataset '{data_root}' has train, test." in " ".join(err.split())


def test_eval_reads_a_search_folder_and_says_what_a_flat_imagefolder_lacks(cli, cifar_imagefolder, tmp_path) -> None:
    """A flat ImageFolder (class folders under the root) was 'unknown split 'test'; the dataset
    has airplane, automobile, ...': the message now says the layout ofa-edge reads."""
    save_supernet(Supernet(SearchSpace.get("mbv3-w1.0-cifar"), 10), tmp_path / "sn.safetensors")
    found = tmp_path / "search"
    found.mkdir()
    SearchSpace.get("mbv3-w1.0-cifar").min().save(found / "subnet.json")
    args = ["eval", "--supernet", str(tmp_path / "sn.safetensors"), "--subnet", str(found), "--device", "cpu"]
    code, out, err = cli(*args, "--data", str(cifar_imagefolder), "--limit", "10", "--calib-images", "10", "--json")
    assert code == 0, err
    assert "is a folder: using the subnet.json in it" in " ".join(err.split()) and json.loads(out)["images"] == 10
    code, _, err = cli(*args, "--data", str(cifar_imagefolder / "train"))  # the tree's split, not the tree
    assert code == 2 and f"split of the ImageFolder tree '{cifar_imagefolder}': pass" in " ".join(err.split()), err
    flat = tmp_path / "flat"  # class folders holding the images directly
    shutil.copytree(cifar_imagefolder / "train", flat)
    code, _, err = cli(*args, "--data", str(flat))
    assert code == 2, err
    said = " ".join(err.split())
    assert "holds images directly in airplane, automobile, bird, ...: it looks like class folders" in said
    assert "train/<class>/<image> and" in said and "test/<class>/<image> (or val/). Move the class folders" in said


def test_without_data_or_cifar10_a_cifar10_supernet_is_evaluated_on_the_shipped_sample(
    cli, tmp_path, monkeypatch
) -> None:
    """As `--help` says (and export and quickstart do): it stopped with "no --data, and no CIFAR-10"."""
    for module in ("ofa_edge.data", "ofa_edge.data.formats"):  # a wheel install
        monkeypatch.setattr(f"{module}.DEFAULT_ROOT", tmp_path / "no-cifar")
    SearchSpace.get("mbv3-w1.0-cifar").min().save(tmp_path / "min.json")
    args = ("eval", "--subnet", str(tmp_path / "min.json"), "--limit", "20", "--device", "cpu", "--json")
    code, out, err = cli(*args, "--bn-images", "16")
    assert code == 0, err
    assert "using the CIFAR-10 sample shipped" in " ".join(err.split())
    doc = json.loads(out)
    assert doc["data"] == str(SAMPLE_ROOT) and doc["images"] == 20 and doc["calib_images"] == 16
    code, _, err = cli(*args, "--bn-images", "2001")  # more than the sample holds
    assert code == 2 and "fewer than --bn-images 2001" in " ".join(err.split()), err


def test_eval_of_a_search_result_uses_the_searched_supernet(cli, data_root, tmp_path) -> None:
    """A subnet that `search --supernet mine` chose was evaluated on the embedded supernet's weights, silently
    (export takes the search's supernet); eval now takes it too, and says so."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    mine = tmp_path / "mine.safetensors"
    save_supernet(Supernet(space, 10), mine)
    found = tmp_path / "search"
    found.mkdir()
    cfg = space.min()
    cfg.save(found / "subnet.json")
    (found / "search.json").write_text(json.dumps({"subnet": cfg.to_dict(), "supernet": str(mine)}))
    args = ["eval", "--subnet", str(found / "subnet.json"), "--data", str(data_root), "--device", "cpu"]
    code, out, err = cli(*args, "--limit", "10", "--calib-images", "10", "--json")
    assert code == 0, err
    assert json.loads(out)["supernet"] == str(mine) and "using the supernet the search used" in err
    code, out, err = cli(*args, "--supernet", str(mine), "--limit", "10", "--calib-images", "10", "--json")
    assert code == 0 and json.loads(out)["supernet"] == str(mine), err


def test_eval_of_a_bundles_subnet_uses_the_supernet_it_was_exported_from(cli, data_root, tmp_path) -> None:
    """The bundle's README says `ofa-edge eval --subnet subnet.json` measures its top-1: that took the embedded
    supernet's weights, whatever the bundle was exported from."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    mine = tmp_path / "mine.safetensors"
    save_supernet(Supernet(space, 10), mine)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    space.min().save(bundle / "subnet.json")
    (bundle / "bundle.json").write_text(json.dumps({"subnet": space.min().to_dict(), "supernet": str(mine)}))
    args = ["eval", "--subnet", str(bundle / "subnet.json"), "--data", str(data_root), "--device", "cpu"]
    code, out, err = cli(*args, "--limit", "10", "--calib-images", "10", "--json")
    assert code == 0, err
    assert json.loads(out)["supernet"] == str(mine) and "the bundle of --subnet was exported from" in err


def test_eval_notes_a_limit_and_bn_images_the_data_cannot_fill(cli, tmp_path) -> None:
    """``--limit 5000`` on a split of 2,000 images evaluated those 2,000 without a word (train notes its
    --limit-train); both counts are now noted, and the JSON counts the images used."""
    SearchSpace.get("mbv3-w1.0-cifar").min().save(tmp_path / "min.json")
    code, out, err = cli(
        "eval", "--subnet", str(tmp_path / "min.json"), "--data", str(SAMPLE_ROOT), "--limit", "5000",
        "--bn-images", "3000", "--device", "cpu", "--json",
    )  # fmt: skip
    assert code == 0, err
    said = " ".join(err.split())
    assert "--limit 5,000 is more than the 2,000 test images: all 2,000 are used" in said
    assert "--bn-images 3,000 is more than the 2,000 training images: all 2,000 are used" in said
    assert json.loads(out)["images"] == json.loads(out)["calib_images"] == 2000


def test_eval_top1_does_not_depend_on_the_batch_size(cli, data_root, tmp_path) -> None:
    """--batch-size also set the BN recalibration batch, whose per-batch statistics BN averages: the embedded
    max subnet read 81.0 % at --batch-size 32 and 82.0 % at 256 on the same 200 images. Recalibration now
    always takes batches of BN_CALIB_BATCH, as every command does (recorded as calib_batch); --batch-size is
    the inference batch only."""
    SearchSpace.get("mbv3-w1.0-cifar").max().save(tmp_path / "max.json")
    args = ["eval", "--subnet", str(tmp_path / "max.json"), "--data", str(data_root), "--limit", "100"]
    top1 = {}
    for batch in ("8", "256"):
        code, out, err = cli(*args, "--bn-images", "256", "--batch-size", batch, "--device", "cpu", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["calib_batch"] == BN_CALIB_BATCH
        top1[batch] = doc["subnets"]["max"]["top1"]
    assert top1["8"] == top1["256"]


def _pruned_run(folder: Path, resolution: int = 24) -> Path:
    """A prune run folder as `ofa-edge prune` writes it (slim.json + slim.safetensors; nothing pruned), with BN
    statistics of its own: eval must keep them."""
    space = SearchSpace.get("mbv3-w1.0-cifar")
    torch.manual_seed(0)
    model = Supernet(space, 10).extract(space.min(resolution)).eval()
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
    base = {"kind": "ofa-subnet", "subnet": space.min(resolution).to_dict(), "num_classes": 10}
    extra = {"preprocessing": Preprocess(resolution, space.mean, space.std).to_dict(), "classes": sample_classes()}
    save_slim(model, folder, base, extra)
    return folder


def test_eval_slim_scores_the_pruned_network_as_it_is(cli, data_root, tmp_path) -> None:
    """Prune measured top-1 on a 2,000-image test subset only: eval --slim scores the pruned network on any split,
    its BN statistics untouched (they were trained with it)."""
    run = _pruned_run(tmp_path / "run")
    args = ("eval", "--data", str(data_root), "--limit", "40", "--device", "cpu", "--json")
    code, out, err = cli(*args, "--slim", str(run))
    assert code == 0, err
    assert "is a folder: using the slim.json in it" in " ".join(err.split())
    doc = json.loads(out)
    val = load_dataset(data_root, "test", limit=40, seed=0)
    with torch.no_grad():
        pred = load_slim(run / "slim.json")(Preprocess(24, *_mean_std())(val.images)).argmax(1)
    assert doc["subnets"]["run"]["top1"] == pytest.approx(100.0 * int((pred == val.labels).sum()) / 40)
    assert doc["slim"] == str(run / "slim.json") and doc["images"] == 40 and doc["calib_images"] == 0
    code, out, err = cli(*args[:-1], "--slim", str(run / "slim.json"))
    assert code == 0 and "BN NOT recalibrated" in " ".join(out.split()), err


def test_eval_slim_steps_its_bar_per_batch_of_images(cli, data_root, tmp_path, monkeypatch) -> None:
    """The bar of --slim had one step for the whole evaluation; it now counts the images scored, batch by batch."""
    from ofa_edge.cli import eval_cmd

    steps: list[tuple[float | None, float | None]] = []
    make = eval_cmd._bar

    def recording() -> Progress:
        bar = make()
        update = bar.update

        def logged(task: TaskID, **changes: Any) -> None:
            update(task, **changes)
            steps.append((bar.tasks[0].completed, bar.tasks[0].total))

        bar.update = logged
        return bar

    monkeypatch.setattr(eval_cmd, "_bar", recording)
    run = _pruned_run(tmp_path / "run")
    args = ("--data", str(data_root), "--limit", "40", "--batch-size", "16", "--device", "cpu", "--json")
    code, _, err = cli("eval", "--slim", str(run), *args)
    assert code == 0, err
    assert steps == [(16, 40), (32, 40), (40, 40)]


def _mean_std() -> tuple[tuple[float, ...], tuple[float, ...]]:
    space = SearchSpace.get("mbv3-w1.0-cifar")
    return space.mean, space.std


def test_eval_slim_of_a_cifar10_net_falls_back_to_the_shipped_sample(cli, tmp_path, monkeypatch) -> None:
    for module in ("ofa_edge.data", "ofa_edge.data.formats"):  # a wheel install
        monkeypatch.setattr(f"{module}.DEFAULT_ROOT", tmp_path / "no-cifar")
    run = _pruned_run(tmp_path / "run")
    code, out, err = cli("eval", "--slim", str(run), "--limit", "10", "--device", "cpu", "--json")
    assert code == 0 and "using the CIFAR-10 sample shipped" in " ".join(err.split()), err
    assert json.loads(out)["data"] == str(SAMPLE_ROOT)


@pytest.mark.parametrize(
    ("args", "conflict"),
    [
        (["--subnet", "a.json"], "--subnet"),
        (["--probes", "--supernet", "sn.safetensors"], "--probes and --supernet"),
        (["--bn-images", "100"], "--bn-images"),
        (["--bn-images", "2000"], "--bn-images"),  # the default's value, given: refused all the same
    ],
)
def test_eval_slim_refuses_the_options_of_a_subnet(cli, tmp_path, args, conflict) -> None:
    code, _, err = cli("eval", "--slim", str(tmp_path / "slim.json"), *args)
    assert code == 2 and f"--slim scores a pruned network as it is: drop {conflict}" in " ".join(err.split()), err


def test_eval_slim_resolves_the_path_as_export_does(cli, tmp_path) -> None:
    run = _pruned_run(tmp_path / "run")
    code, _, err = cli("eval", "--slim", str(run / "slim.safetensors"), "--device", "cpu")
    assert code == 2 and f"as --slim: {run / 'slim.json'}" in " ".join(err.split()), err
    code, _, err = cli("eval", "--slim", str(tmp_path), "--device", "cpu")
    assert code == 2 and "is a folder without slim.json" in " ".join(err.split()), err


@pytest.mark.parametrize("command", ["eval", "export"])
def test_a_pruned_networks_weights_as_supernet_name_slim(cli, tmp_path, command) -> None:
    """prune's slim.safetensors as --supernet was only 'not an ofa-edge supernet'; it now names --slim."""
    run = _pruned_run(tmp_path / "run")
    SearchSpace.get("mbv3-w1.0-cifar").min(24).save(tmp_path / "subnet.json")
    args = ("--supernet", str(run / "slim.safetensors"), "--subnet", str(tmp_path / "subnet.json"))
    code, _, err = cli(command, *args)
    flat = " ".join(err.split())
    assert code == 2 and f"`ofa-edge {command} --slim {run / 'slim.json'}`" in flat, flat


@pytest.mark.parametrize("swap", [False, True])
def test_eval_refuses_data_whose_classes_are_not_the_ones_the_network_learned(
    cli, tmp_path, renamed_sample, swap
) -> None:
    """Ten classes are not enough: label i must mean the class the network learned as output i (a supernet's
    training and a pruned network's slim.json record their names)."""
    renames = {"cat": "dog", "dog": "cat"} if swap else {"cat": "kitten"}
    data = renamed_sample(renames)
    expected = "same names in another order" if swap else "only in one: cat, kitten"
    common = ("--data", str(data), "--limit", "20", "--device", "cpu")
    for args in (("eval", "--probes", "--bn-images", "20"), ("eval", "--slim", str(_pruned_run(tmp_path / "run")))):
        code, _, err = cli(*args, *common)
        message = " ".join(err.split())
        assert code == 2 and "names other classes than the network was trained on" in message, err
        assert expected in message and "pass the dataset it was trained on" in message


def test_ctrl_c_in_eval_says_nothing_resumes_and_shows_the_subnets_done(cli, data_root, monkeypatch) -> None:
    """eval keeps nothing, so the CLI's line on long jobs resuming would promise what it does not do; the
    subnets already scored are printed, as they are all the interrupted run measured."""
    calls = []

    def evaluate(net, cfgs, *_args):
        calls.append(list(cfgs))
        if len(calls) > 1:
            raise KeyboardInterrupt
        return {name: {"top1": 42.0} for name in cfgs}

    monkeypatch.setattr("ofa_edge.cli.eval_cmd.evaluate_probes", evaluate)
    code, out, err = cli(
        "eval", "--data", str(data_root), "--limit", "20", "--calib-images", "20", "--device", "cpu",
    )  # fmt: skip
    text = " ".join(err.split())
    assert code == 130 and out == "", err
    assert "resume where they stopped" not in text
    assert "interrupted after 1 of 5 subnets (min 42.00%); eval keeps nothing" in text


def test_eval_slim_reads_one_prune_run_when_a_prune_replaces_the_folder_meanwhile(cli, tmp_path, monkeypatch) -> None:
    """eval --slim took no lock and read slim.json, then slim.safetensors: a prune finishing into the same --out in
    between (its folder replaced whole) got the old run's description (resolution 24) scored with the new run's
    weights, silently. The folder's identity is checked, and the files read again where it changed."""
    from ofa_edge.io import staged_dir

    slim = sys.modules["ofa_edge.prune.slim"]  # the module: ofa_edge.prune.slim is also the function's name
    run, new = _pruned_run(tmp_path / "run"), _pruned_run(tmp_path / "new", resolution=32)
    real_load_file, loads = slim.load_file, []

    def prune_finishes_first(path: str) -> dict[str, torch.Tensor]:
        if not loads:
            with staged_dir(run) as stage:
                for f in new.iterdir():
                    shutil.copy(f, stage / f.name)
        loads.append(path)
        return real_load_file(path)

    monkeypatch.setattr(slim, "load_file", prune_finishes_first)
    code, out, err = cli("eval", "--slim", str(run), "--limit", "8", "--device", "cpu", "--json")
    assert code == 0, err
    assert json.loads(out)["subnets"]["run"]["config"]["resolution"] == 32 and len(loads) > 1


def test_ctrl_c_in_eval_slim_says_nothing_resumes(cli, data_root, tmp_path, monkeypatch) -> None:
    """eval --slim, stopped halfway through the images, said that long jobs resume where they stopped."""
    from ofa_edge.supernet import evaluate

    real = evaluate.module_top1

    def stopped_after_a_batch(*args: Any, on_batch: Any, **kwargs: Any) -> float:
        def then_ctrl_c(images: int) -> None:
            on_batch(images)
            raise KeyboardInterrupt

        return real(*args, on_batch=then_ctrl_c, **kwargs)

    monkeypatch.setattr(evaluate, "module_top1", stopped_after_a_batch)
    run = _pruned_run(tmp_path / "run")
    args = ("--data", str(data_root), "--limit", "40", "--batch-size", "16", "--device", "cpu")
    code, out, err = cli("eval", "--slim", str(run), *args)
    text = " ".join(err.split())
    assert code == 130 and out == "", err
    assert "resume where they stopped" not in text
    assert "interrupted after 16 of 40 images; eval keeps nothing: running the same command again measures" in text


def test_a_supernet_of_your_own_classes_without_data_names_them_and_its_data(cli, real, tmp_path, monkeypatch) -> None:
    """eval (and search, export) of a supernet trained on an own tree, without --data, said only "has 10 classes
    but the network predicts 3; pass the dataset it was trained on": not which, though the supernet knew. With
    --data, its JSON said "split": "test" of a tree that has val/ only."""
    from PIL import Image

    for split in ("train", "val"):
        for i, name in enumerate(("boat", "kitty", "toad") * 2):
            (tmp_path / "mine" / split / name).mkdir(parents=True, exist_ok=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(tmp_path / "mine" / split / name / f"{i}.png")
    monkeypatch.chdir(tmp_path)  # --data as a user types it: relative
    code, _, err = cli("train", "--data", "mine", "--out", "run", "--epochs", "1", "--batch-size", "2",
                       "--probe-every", "0", "--calib-images", "2", "--device", "cpu", "--no-progress")  # fmt: skip
    assert code == 0, err
    code, out, err = cli(
        "eval", "--supernet", "run/supernet.safetensors", "--data", "mine", "--device", "cpu", "--json"
    )
    assert code == 0 and json.loads(out)["split"] == "val", err  # the folder it read, not 'test'
    monkeypatch.chdir(tmp_path / "run")
    code, _, err = cli("eval", "--supernet", "supernet.safetensors", "--device", "cpu")
    flat = " ".join(err.split())
    assert code == 2, err
    assert (
        f"the network predicts 3 (boat, kitty, toad); pass the dataset it was trained on (--data {tmp_path / 'mine'})"
        in flat
    )
