"""``ofa-edge train``: bad input exits 2 with a message naming the problem; defaults are printed."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch

BASE = [
    "--batch-size",
    "8",
    "--limit-train",
    "8",
    "--limit-val",
    "8",
    "--calib-images",
    "8",
    "--device",
    "cpu",
    "--no-progress",
]
SMALL = ["--batch-size", "2", "--limit-train", "2", *BASE[4:]]  # for runs whose checks do not involve the batch


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--warmup-frac", "1.0"], "--warmup-frac 1: must be in [0, 1)"),
        (["--warmup-frac", "-0.1"], "--warmup-frac -0.1: must be in [0, 1)"),
        (["--epochs", "0"], "--epochs 0: must be >= 1."),
        (["--grad-agg", "max"], "--grad-agg must be 'sum' or 'avg'"),
        (["--method", "spos"], "unknown --method 'spos'"),
        (["--method", "ofa", "--epochs", "3"], "needs at least 6 epochs"),
        (["--batch-size", "16"], "larger than the 8 images"),
        (["--cuda-graphs"], "--cuda-graphs needs a CUDA device, but the run is on 'cpu'"),
        (["--epochs", "10", "--warmup-frac", "0.95"], "leaves DεpS no epoch to shrink in"),
        (["--epochs", "1", "--warmup-frac", "0.6"], "use a fraction below 0.500"),
        (["--method", "ofa", "--epochs", "6", "--lr-warmup-epochs", "2"], "full-model phase (1 of 6 epochs)"),
        (["--weight-decay", "-1"], "--weight-decay -1: must be >= 0."),
        # each range message names the option that is wrong (one message named three before)
        (["--bn-images", "0"], "--bn-images 0: must be >= 1."),
        (["--probe-every", "-1"], "--probe-every -1: must be >= 0 (0: never)."),
        (["--ckpt-every", "-2"], "--ckpt-every -2: must be >= 0 (0: only at epoch ends)."),
        (["--subnets-per-step", "1"], "--subnets-per-step 1: must be in [2, 16] (the sandwich rule's max and min"),
        # no upper bound: 10000 trained 10,000 subnets a step
        (["--subnets-per-step", "10000"], "--subnets-per-step 10000: must be in [2, 16] (the sandwich rule's"),
        # NaN passed every `x < 0` check and trained a NaN supernet to exit 0; infinities too
        (["--lr", "nan"], "--lr nan: must be a finite number > 0."),
        (["--lr", "inf"], "--lr inf: must be a finite number > 0."),
        (["--kd-temp", "nan"], "--kd-temp nan: must be a finite number > 0."),
        (["--weight-decay", "nan"], "--weight-decay nan: must be a finite number >= 0."),
        (["--label-smoothing", "nan"], "--label-smoothing nan: must be a finite number in [0, 1)."),
        (["--warmup-frac", "nan"], "--warmup-frac nan: must be a finite number in [0, 1)"),
        (["--beta-mult", "inf"], "--beta-mult inf: must be a finite number >= 0."),
        (["--eps-epochs", "nan"], "--eps-epochs nan: must be a finite number >= 0."),
        (["--lr-warmup-epochs", "nan"], "--lr-warmup-epochs nan: must be a finite number in [0, 40) (below --epochs)."),
        (["--sparsity", "nan"], "--sparsity nan: must be a finite number in (0, 1)"),
        (["--sparsity", "0.5", "--mask-update-frac", "nan"], "--mask-update-frac nan: must be a finite number"),
        (["--freeze-flops-target", "nan"], "--freeze-flops-target nan: must be a finite number in (0, 1)"),
        (["--sieve-frac", "nan"], "--sieve-frac nan: must be a finite number in (0, 1)"),
        # the mask options are checked without --sparsity too
        (["--mask-grow", "grad"], "--mask-grow 'grad': use 'gradient' or 'random'."),
        # a lever's timing without the lever was silently ignored
        (["--freeze-start", "2"], "--freeze-start 2 times a lever that is off; add --freeze-flops-target (e.g."),
        (["--freeze-interval", "1"], "--freeze-interval 1 times a lever that is off; add --freeze-flops-target"),
        (
            ["--sieve-interval", "1"],
            "--sieve-interval 1 times a lever that is off; add --sieve-frac (e.g. --sieve-frac",
        ),
        (["--mask-update-frac", "2"], "--mask-update-frac 2: must be in [0, 1)."),
        # mask options without sparsity were silently ignored (exit 0)
        # its help says Δτ also times freezing and sieving: the message names those levers too
        (
            ["--mask-interval", "1"],
            (
                "--mask-interval 1 times the mask updates, freezing and sieving, all off; add --sparsity, "
                "--freeze-flops-target or --sieve-frac (e.g. --sparsity 0.5) or drop --mask-interval."
            ),
        ),
        (["--mask-grow", "random"], "--mask-grow random times a lever that is off; add --sparsity"),
        # it blamed the FLOPs target
        (
            ["--epochs", "2", "--freeze-flops-target", "0.01", "--freeze-start", "5"],
            "--freeze-start 5 must be below --epochs 2",
        ),
        # it blamed the batch size only
        (["--sieve-frac", "0.5"], "(--sieve-frac 0.5 holds out 4 of the 8 training images; lower --sieve-frac)"),
        (["--time-limit", "2 hours"], "--time-limit '2 hours': not a duration; give one like 540s, 90m or 2h"),
        (["--time-limit", "0s"], "--time-limit '0s': must be positive"),
        (["--val-split", "val"], "unknown split 'val'; the dataset"),
        # it overflowed a generator's seed: "internal error: ValueError: Overflow when unpacking long long", exit 1
        (["--seed", "99999999999999999999"], "--seed 99999999999999999999: must be in [0, 4294967295]"),
    ],
)
def test_bad_hyperparameters_exit_2(cli, data_root, tmp_path, args, message) -> None:
    code, _, err = cli("train", "--data", str(data_root), "--out", str(tmp_path / "r"), *BASE, *args)
    assert code == 2, err
    assert message in " ".join(err.split())


def test_a_refused_option_is_said_before_any_default(cli, data_root) -> None:
    """`train --method foo` said "out: .../train-foo" (a folder it would never write) before refusing."""
    code, _, err = cli("train", "--data", str(data_root), *BASE, "--method", "foo")
    assert code == 2 and "unknown --method 'foo'" in err and "out:" not in err, err


def test_bad_datasets_exit_2(cli, data_root, tmp_path, monkeypatch) -> None:
    code, _, err = cli("train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), *BASE)
    assert code == 2 and "does not exist" in " ".join(err.split())
    for module in ("ofa_edge.data", "ofa_edge.data.formats"):  # installed without the CIFAR-10 folder
        monkeypatch.setattr(f"{module}.DEFAULT_ROOT", tmp_path / "default")
    code, _, err = cli("train", "--out", str(tmp_path / "r"), *BASE)
    said = " ".join(err.split())
    assert code == 2 and "no --data, and no CIFAR-10 at the default folder" in said and "download=True" in said
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (
        "train.jpg.bin",
        "train.labels.npy",
        "classes.txt",
        "test.jpg.bin",
        "test.offsets.npy",
        "test.labels.npy",
    ):
        shutil.copy(data_root / name, broken / name)
    (broken / "train.offsets.npy").write_bytes(b"not numpy")
    code, _, err = cli("train", "--data", str(broken), "--out", str(tmp_path / "r"), *BASE)
    assert code == 2 and "malformed" in " ".join(err.split())


def test_an_out_that_is_a_file_exits_2_before_any_work(cli, data_root, tmp_path) -> None:
    """It was "cannot use '...': File exists" after the data was decoded; now as search and export say it."""
    taken = tmp_path / "some_file.json"
    taken.write_text("{}")
    code, _, err = cli("train", "--data", str(data_root), "--out", str(taken), *BASE)
    assert code == 2 and "some_file.json' is a file; pass a folder for a training run" in " ".join(err.split()), err
    assert "phase" not in err and taken.read_text() == "{}"


def test_a_disk_too_small_for_the_checkpoints_is_refused_before_training(cli, data_root, full_disk) -> None:
    """A whole epoch was trained before its checkpoint met the full disk."""
    run = full_disk / "run"
    code, _, err = cli("train", "--method", "bignas", "--data", str(data_root), "--out", str(run), *BASE)
    flat = " ".join(err.split())
    assert code == 2 and f"the disk of '{run}' has 1 MB free, and training (2 checkpoint(s) and the supernet)" in flat
    assert "or pass --out on another disk" in flat, err
    assert not run.exists()  # nothing written, no lock left


def test_a_full_disk_exits_2_naming_the_checkpoint_and_how_to_resume(cli, data_root, full_disk, monkeypatch) -> None:
    """It was "internal error: SafetensorError: ... No space left on device (os error 28)", exit 1. The disk
    fills after the check of its room (another process writes to it)."""
    monkeypatch.setattr("ofa_edge.train.trainer.require_free_space", lambda *_args: None)
    run = full_disk / "run"
    code, _, err = cli("train", "--method", "bignas", "--data", str(data_root), "--out", str(run), "--epochs", "1",
                       "--subnets-per-step", "2", "--probe-every", "0", *BASE)  # fmt: skip
    flat = " ".join(err.split())
    assert code == 2 and f"cannot write '{run / 'checkpoint.safetensors'}': No space left on device" in flat, err
    assert (
        "run the same command again (train and prune resume from their last checkpoint; train: with --resume)" in flat
    )
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.jsonl"]  # no temp file, no lock


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_an_out_folder_of_other_files_is_refused_untouched(cli, data_root, tmp_path, resume) -> None:
    """`--out` at somebody's folder wrote config.json, metrics.jsonl, the ledger and the supernet into it
    (replacing files of those names); export, prune and search refuse such a folder."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    (mine / ".draft.tmp").write_text("mine too")
    code, _, err = cli("train", "--data", str(data_root), "--out", str(mine), *BASE, *resume)
    assert code == 2 and "is not empty and is not a training run; refusing to overwrite it" in " ".join(err.split())
    assert sorted(p.name for p in mine.iterdir()) == [".draft.tmp", "notes.txt"] and "phase" not in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where CUDA is absent")
def test_cuda_without_cuda_exits_2(cli, data_root, tmp_path) -> None:
    code, _, err = cli("train", "--data", str(data_root), "--out", str(tmp_path / "r"), *BASE[:-3], "--device", "cuda")
    assert code == 2 and "CUDA is not available" in " ".join(err.split())


def test_time_limit_stops_resume_finishes_and_overwrite_is_refused(cli, data_root, tmp_path) -> None:
    args = ["train", "--method", "bignas", "--data", str(data_root), "--out", str(tmp_path / "r"), "--epochs", "2",
            "--subnets-per-step", "2", "--probe-every", "0", *BASE, "--json"]  # fmt: skip
    code, out, err = cli(*args, "--time-limit", "1ms")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"].startswith("stopped") and doc["ledger"]["steps"] == 1 and doc["supernet"] is None
    code, out, err = cli(*args, "--resume")
    doc = json.loads(out)
    assert (
        code == 0 and doc["status"] == "complete" and doc["resumed_at_iteration"] == 1 and doc["ledger"]["steps"] == 2
    )
    assert "at iteration 1 of 2 (epoch 1, step 0 of 1)" in " ".join(err.split())
    err = " ".join(err.split())
    assert "lr: 0.003125 (0.1 x global batch 8 / 256)" in err and "DεpS only" not in err
    code, _, err = cli(*args)
    assert code == 2 and "--resume" in err
    code, _, err = cli(*[a if a != "bignas" else "deps" for a in args], "--resume")
    assert code == 2 and "has --method bignas, not --method deps; drop --method" in " ".join(err.split())


def test_resume_takes_the_runs_options_and_refuses_only_a_conflicting_one(cli, data_root, tmp_path) -> None:
    """`train --resume --out DIR` continues a run started with many options; one given again with
    another value is named, with the run's value; the time limit is per call."""
    run = tmp_path / "r"
    code, _, err = cli(
        "train", "--method", "bignas", "--data", str(data_root), "--out", str(run), "--epochs", "3",
        "--subnets-per-step", "2", "--probe-every", "0", "--lr", "0.02", "--weight-decay", "1e-4", *BASE,
        "--time-limit", "1ms",
    )  # fmt: skip
    assert code == 0, err
    # a run recorded before config.json kept the options: its settings ("train") stand in for them
    config = json.loads((run / "config.json").read_text())
    assert config["options"]["lr"] == 0.02 and config["options"]["data"] == str(data_root.absolute())
    (run / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "options"}))
    code, _, err = cli("train", "--resume", "--out", str(run), "--lr", "0.05", "--epochs", "4", "--amp")
    err = " ".join(err.split())
    assert code == 2, err
    assert f"the run in '{run}' has --lr 0.02, not --lr 0.05; --epochs 3, not --epochs 4; --no-amp, not --amp" in err
    # the same value again, and options free to change (device, time limit), are accepted
    code, out, err = cli("train", "--resume", "--out", str(run), "--lr", "0.02", "--device", "cpu",
                         "--time-limit", "1ms", "--json")  # fmt: skip
    assert code == 0 and json.loads(out)["status"].startswith("stopped"), err
    again, keys = json.loads((run / "config.json").read_text())["options"], ("data", "method", "lr", "epochs")
    assert [again[k] for k in keys] == [config["options"][k] for k in keys]  # written back by the resume
    code, out, err = cli("train", "--resume", "--out", str(run), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "complete" and doc["method"] == "bignas" and doc["resumed_at_iteration"] == 2
    lrs = [json.loads(line)["lr"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(lrs) == 3 and 0.003125 < lrs[0] <= 0.02  # the default LR is 0.1 x 8 / 256 = 0.003125


def test_a_diverging_run_stops_before_writing_a_nan_checkpoint(cli, data_root, tmp_path) -> None:
    """A learning rate that blows the weights up stops the run with exit 2 naming --lr; the last
    good checkpoint is not overwritten and no NaN supernet is written (it used to exit 0 with one)."""
    out = tmp_path / "r"
    args = ["train", "--method", "bignas", "--data", str(data_root), "--out", str(out), "--epochs", "3",
            "--subnets-per-step", "2", "--probe-every", "0", "--ckpt-every", "1", *BASE]  # fmt: skip
    code, _, err = cli(*args, "--lr", "1e30")
    flat = " ".join(err.split())
    assert code == 2, err
    assert "training diverged by iteration" in flat and "Lower --lr (1e+30) and start a new run." in flat
    assert "Traceback" not in err and not (out / "supernet.safetensors").exists()
    assert "no checkpoint was written" in flat or "the checkpoint of iteration" in flat
    if "the checkpoint of iteration" in flat:  # what was kept is finite
        from safetensors.torch import load_file

        ckpt = load_file(next(out.glob("checkpoint*.safetensors")))
        assert all(t.isfinite().all() for t in ckpt.values() if t.is_floating_point())


def _stopped_run_args(data_root, run) -> list[str]:
    return ["train", "--method", "bignas", "--data", str(data_root), "--out", str(run), "--epochs", "2",
            "--subnets-per-step", "2", "--probe-every", "0", *BASE]  # fmt: skip


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, data_root):
    """One 2-iteration bignas run stopped after its first, trained once for the module; each test that
    damages or resumes it gets its own copy (:func:`_tiny_stopped_run`)."""
    from ofa_edge.cli.app import main

    base = tmp_path_factory.mktemp("stopped-run")
    with pytest.MonkeyPatch.context() as mp:  # as _work_dirs_in_tmp does for each test
        mp.setenv("OFA_EDGE_HOME", str(base / "ofa-edge-home"))
        mp.setenv("XDG_DATA_HOME", str(base / "xdg-data"))
        assert main([*_stopped_run_args(data_root, base / "r"), "--time-limit", "1ms"]) == 0
    return base / "r"


def _tiny_stopped_run(stopped_run, data_root, run) -> list[str]:
    """A copy in ``run`` of the 2-iteration bignas run stopped after its first; returns the arguments that
    made it (with ``--out run``)."""
    shutil.copytree(stopped_run, run)
    return _stopped_run_args(data_root, run)


def _edit_checkpoint(path, edit) -> None:
    """Rewrite a checkpoint with ``edit(header, tensors)`` applied."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        header = json.loads(f.metadata()["ofa_edge_train"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    edit(header, tensors)
    save_file(tensors, str(path), metadata={"ofa_edge_train": json.dumps(header)})


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda h, t: h["state"].update(it=-3), "(iteration -3, not an integer in [0, 2])"),  # was ZeroDivisionError
        (lambda h, t: h["state"].update(it="x"), "(iteration 'x', not an integer in [0, 2])"),  # was TypeError
        (lambda h, t: h["state"].update(it=999), "(iteration 999, not an integer in [0, 2])"),  # was "complete"
        # was "training diverged ... lower --lr"
        (lambda h, t: t.update({"sampler.order": t["sampler.order"][:5]}), "(sampler.order length 5, not the 8"),
        (lambda h, t: h["state"].update(ledger=[]), "(no ledger)"),
    ],
)
def test_a_damaged_checkpoint_state_exits_2_naming_it(cli, stopped_run, data_root, tmp_path, edit, needle) -> None:
    run = tmp_path / "r"
    args = _tiny_stopped_run(stopped_run, data_root, run)
    _edit_checkpoint(run / "checkpoint.safetensors", edit)
    code, _, err = cli(*args, "--resume")
    flat = " ".join(err.split())
    assert code == 2 and "is not a readable ofa-edge training checkpoint" in flat and needle in flat, err
    assert "Traceback" not in err and not (run / "supernet.safetensors").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "is missing"), ("{not json", "is unreadable (Expecting"), ('{"train": [1]}', "has a 'train' that is not")],
)
def test_resume_without_a_readable_config_json_names_it(cli, stopped_run, data_root, tmp_path, content, needle) -> None:
    """It listed ~20 "settings that differ ... run has None"."""
    run = tmp_path / "r"
    _tiny_stopped_run(stopped_run, data_root, run)
    if content is None:
        (run / "config.json").unlink()
    else:
        (run / "config.json").write_text(content)
    for args in (["--out", str(run)], ["--out", str(run), "--data", str(data_root), *BASE]):
        code, _, err = cli("train", "--resume", *args)
        flat = " ".join(err.split())
        assert code == 2 and f"'{run / 'config.json'}' {needle}" in flat and "settings that differ" not in flat, err
        assert "Restore it from a copy of the run, or start a new run with another --out." in flat


def test_resume_notes_a_cut_metrics_line_and_a_finished_run(cli, stopped_run, data_root, tmp_path) -> None:
    run = tmp_path / "r"
    args = _tiny_stopped_run(stopped_run, data_root, run)
    # the stop came at the end of epoch 0 (1 step an epoch): its metrics line is written
    metrics = run / "metrics.jsonl"
    metrics.write_text(metrics.read_text()[:-10])  # a kill mid-write
    code, out, err = cli(*args, "--resume")
    flat = " ".join(err.split())
    assert code == 0 and "1 line(s) of" in flat and "cut short" in flat, err
    assert "no probes (--probe-every 0)" in out and "top-1" not in out
    files = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir() if p.name != ".lock"}
    code, out, err = cli(*args, "--resume", "--json")
    flat = " ".join(err.split())
    assert code == 0 and f"run already complete: '{run}' finished all 2 epochs; nothing to train" in flat, err
    assert flat.count("nothing to train") == 1  # it said so twice, in two ways
    # it rewrote supernet.safetensors (a new "finished" time), config.json and metrics.jsonl
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in run.iterdir() if p.name != ".lock"} == files
    assert json.loads(out)["supernet"] == str(run / "supernet.safetensors")
    (run / "supernet.safetensors").unlink()  # a kill after the last checkpoint, before the supernet was written
    code, _, err = cli(*args, "--resume")
    assert code == 0 and (run / "supernet.safetensors").is_file(), err


def test_a_refused_resume_says_off_for_a_lever_the_run_trained_without(cli, stopped_run, data_root, tmp_path) -> None:
    """A run without levers, resumed with them: --mask-interval read "(default)" and --mask-grow "gradient", as if
    the run had used them; the run's default LR warm-up read "(default: 0.0)" and the option given "1.0"."""
    args = _tiny_stopped_run(stopped_run, data_root, tmp_path / "r")
    code, _, err = cli(*args, "--resume", "--sparsity", "0.5", "--mask-interval", "3", "--mask-grow", "random",
                       "--lr-warmup-epochs", "1")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 2, err
    for said in ("--sparsity (off), not --sparsity 0.5", "--mask-interval (off), not --mask-interval 3",
                 "--mask-grow (off), not --mask-grow random", "--lr-warmup-epochs (default: 0), not --lr-warmup-epochs 1;"):  # fmt: skip
        assert said in flat, said


def test_notes_name_ignored_and_clamped_options(cli, data_root, tmp_path) -> None:
    base = ["train", "--data", str(data_root), *SMALL, "--probe-every", "0", "--time-limit", "1ms"]
    code, _, err = cli(*base, "--out", str(tmp_path / "a"), "--method", "ofa", "--epochs", "6",
                       "--subnets-per-step", "8", "--beta-mult", "2")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0 and "--subnets-per-step 8 and --beta-mult 2 ignored" in flat, err
    assert "DεpS only" not in flat  # neither --warmup-frac nor --eps-epochs was given
    code, _, err = cli(*base, "--out", str(tmp_path / "b"), "--method", "bignas", "--eps-epochs", "3")
    assert code == 0 and "--eps-epochs 3: DεpS only; ignored by --method bignas" in " ".join(err.split()), err
    code, out, err = cli(*base, "--out", str(tmp_path / "c"), "--epochs", "2", "--eps-epochs", "10",
                         "--sparsity", "0.5", "--mask-interval", "5")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0 and "eps-epochs: 10 clamped to 1 (the epochs left after shrinking starts at epoch 1)" in flat
    assert "the masks never prune-and-grow: --mask-interval 5" in flat, err
    saved = re.search(r"SpFDE saved TFLOPs: sparsity (\S+);", " ".join(out.split())).group(1)
    assert float(saved) > 0, out  # one step's saving printed as "0.000"


def test_a_log_gets_a_line_per_epoch_instead_of_the_live_bar(cli, data_root, tmp_path) -> None:
    """Piped stderr (a log file, CI) gets one full line per epoch, not the live bar rich would print once, cut
    at 80 columns; --no-progress keeps the lines (a log's record) and drops only the bar."""
    bar = [a for a in SMALL if a != "--no-progress"]
    for i, rest in enumerate((bar, SMALL)):
        args = ["train", "--method", "bignas", "--data", str(data_root), "--out", str(tmp_path / f"r{i}"),
                "--epochs", "2", "--subnets-per-step", "2", "--probe-every", "0", *rest]  # fmt: skip
        code, _, err = cli(*args)
        assert code == 0, err
        lines = [line for line in err.splitlines() if line.startswith("epoch ")]
        assert [line.split(" (")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"], err
        assert all(" lr " in line and " β " in line and line.endswith(" img/s") for line in lines)
        for line in lines:  # three significant digits below 100 img/s (a CPU's 0.44 was "0 img/s")
            rate = line.removesuffix(" img/s").rsplit(" ", 1)[1]
            assert rate == (f"{float(rate):.3g}" if float(rate) < 100 else rate), line
        assert "train bignas" not in err  # the bar's label
        # the phase note numbered epochs from 0 ("epochs 0-2") beside lines numbered from 1
        assert "phase shrink: epochs 1-2 of 2 (" in err, err


def test_training_images_of_one_class_exit_2(cli, cifar_imagefolder, tmp_path) -> None:
    """A one-class ImageFolder tree trained to exit 0 (a 'classifier' that is always right)."""
    one = tmp_path / "one-class"
    for split in ("train", "test"):
        shutil.copytree(cifar_imagefolder / split / "cat", one / split / "cat")
    code, _, err = cli("train", "--data", str(one), "--out", str(tmp_path / "r"), *BASE[2:])
    flat = " ".join(err.split())
    assert code == 2 and "are all of one class ('cat'): a classifier needs at least 2 classes" in flat, err
    assert "a folder per class under train/" in flat and "Traceback" not in err and not (tmp_path / "r").exists()


def test_more_images_asked_for_than_the_data_holds_are_noted(cli, cifar_imagefolder, tmp_path) -> None:
    """--limit-train and --bn-images above the 20 training images: both said nothing, and the BN warning
    (for --bn-images under 200) told a user with 20 images to "use 200 or more"."""
    args = ["train", "--method", "bignas", "--subnets-per-step", "2", "--data", str(cifar_imagefolder),
            "--batch-size", "8", "--limit-val", "8", "--device", "cpu", "--no-progress", "--time-limit", "1ms"]  # fmt: skip
    code, _, err = cli(*args, "--out", str(tmp_path / "a"), "--limit-train", "50")
    flat = " ".join(err.split())
    assert code == 0, err
    assert "--limit-train 50 is more than the 20 training images: all 20 are used" in flat
    # the trainer's notes read "note: ..." among the command's "• ..."
    assert "• --limit-train 50 is more than" in flat and "note:" not in flat
    assert "--bn-images 2000: the data holds only 20 training images, and BN recalibration uses them all" in flat
    code, _, err = cli(*args, "--out", str(tmp_path / "b"), "--bn-images", "10")
    flat = " ".join(err.split())
    assert code == 0 and "--limit-train" not in flat, err
    assert "The data holds only 20 training images: use all of them (--bn-images 20), or 200 or more" in flat
    # --limit-val too (eval notes its --limit so); it said nothing
    code, _, err = cli(*args, "--out", str(tmp_path / "c"), "--limit-val", "500")
    assert code == 0 and "--limit-val 500 is more than the 10 test images: all 10 are used" in " ".join(err.split())


def test_deps_over_too_few_epochs_for_a_warmup_says_so(cli, data_root, tmp_path) -> None:
    code, _, err = cli("train", "--data", str(data_root), "--out", str(tmp_path / "r"), *BASE, "--epochs", "1",
                       "--probe-every", "0", "--time-limit", "1ms")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0 and "--warmup-frac 0.5 of 1 epoch(s) rounds to no full-model warm-up" in flat, err
    assert "(--epochs 2 or more gives it a warm-up epoch)" in flat
    assert "phase shrink: epoch 1 of 1 (" in flat  # it read "epochs 0-1"


def test_the_sparsity_help_gives_the_range_train_takes() -> None:
    """Its help said "in [0, 1)", and --sparsity 0 exits 2 with "must be in (0, 1)"."""
    from ofa_edge.cli.app import load_command

    helps = {p.name: p.help for p in load_command("train").params}
    assert "in (0, 1)" in helps["sparsity"] and "[0, 1)" not in helps["sparsity"]


def test_a_refused_option_leaves_no_folders_of_out_behind(cli, data_root, tmp_path) -> None:
    """The --out check made --out's parents before --epochs was refused: a/b stayed, empty."""
    code, _, err = cli(
        "train", "--data", str(data_root), "--out", str(tmp_path / "a" / "b" / "c"), *BASE, "--epochs", "0"
    )
    assert code == 2 and "--epochs 0: must be >= 1" in err, err
    assert not (tmp_path / "a").exists()


def test_the_subnets_per_step_help_names_the_methods_that_take_it() -> None:
    """--beta-mult's help says "(deps, bignas)"; --subnets-per-step's did not, and ofa / compofa ignore it."""
    from ofa_edge.cli.app import load_command

    helps = {p.name: p.help for p in load_command("train").params}
    assert "2 to 16 (deps, bignas)" in helps["subnets_per_step"]


def test_the_commands_notes_come_before_the_trainers_and_a_tiny_run_reads_right(cli, cifar_imagefolder, tmp_path):
    """The trainer's notes on its data (and its warnings) came before the command's own ("• device: ...", "• lr:"),
    out of the order a run's setup reads in; one step read "(1 steps/epoch)" and a tiny run's TFLOPs "0.00"."""
    args = ["train", "--data", str(cifar_imagefolder), "--out", str(tmp_path / "r"), *SMALL, "--limit-val", "500",
            "--epochs", "2", "--probe-every", "0", "--time-limit", "1ms"]  # fmt: skip
    code, out, err = cli(*args)
    flat = " ".join(err.split())
    assert code == 0, err
    data_note = flat.index("--limit-val 500 is more than the 10 test images")
    assert flat.index("• lr: ") < flat.index("• memory format: ") < data_note < flat.index("• phase full: "), err
    assert "phase full: epoch 1 of 2 (1 step/epoch)" in flat and "steps/epoch" not in flat
    tflops = re.search(r"subnet-images, (\S+) TFLOPs", " ".join(out.split())).group(1)
    assert float(tflops) > 0 and tflops == f"{float(tflops):.3g}", out


def test_train_says_the_classes_and_the_size_it_learns_from(cli, cifar_imagefolder, tmp_path) -> None:
    """Nothing said how many classes the network would predict, in which order, or that a tree's images of any size
    are cut to the space's 32 px: a user learned it from the supernet's metadata."""
    code, _, err = cli("train", "--data", str(cifar_imagefolder), "--out", str(tmp_path / "r"), *SMALL,
                       "--epochs", "1", "--probe-every", "0", "--time-limit", "1ms")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0, err
    assert "• data: 2 training and 8 test images of 10 classes (output order: airplane, automobile, bird," in flat
    assert "centre-cropped to 32 px, the largest resolution of mbv3-w1.0-cifar" in flat


def test_the_trainers_notes_and_warnings_name_an_option_by_its_flag_alone(cli, data_root, tmp_path, monkeypatch):
    """The trainer drew its lines itself, so a note naming an option for a Python caller ("limit_train
    (--limit-train)") reached the command line so, where every other line names the flag alone."""
    from ofa_edge.errors import option_name

    monkeypatch.setattr("ofa_edge.train.trainer.data_note", lambda *_: f"note on {option_name('limit_train')} 8")
    monkeypatch.setattr("ofa_edge.train.trainer.few_images_warning", lambda *_, **__: f"{option_name('bn_images')} 8")
    code, _, err = cli("train", "--data", str(data_root), "--out", str(tmp_path / "r"), *BASE, "--epochs", "1",
                       "--time-limit", "1ms")  # fmt: skip
    flat = " ".join(err.split())
    assert code == 0, err
    assert "• note on --limit-train 8" in flat and "warning: --bn-images 8" in flat, err
    assert "limit_train" not in flat and "bn_images" not in flat, err
