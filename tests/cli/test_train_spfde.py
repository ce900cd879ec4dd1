"""``ofa-edge train`` with every SpFDE lever on a real CIFAR-10 subset: run, kill, resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

COMMON = (
    "train", "--epochs", "2", "--batch-size", "4", "--limit-train", "20", "--limit-val", "8",
    "--calib-images", "8", "--probe-every", "0", "--subnets-per-step", "2", "--no-progress", "--json",
    "--sparsity-pattern", "2:4", "--mask-interval", "1", "--mask-grow", "random",
    "--freeze-flops-target", "0.001", "--freeze-start", "1",
)  # fmt: skip


def test_train_all_levers_stop_and_resume(cli, data_root, tmp_path):
    run = tmp_path / "run"
    args = (*COMMON, "--data", str(data_root), "--out", str(run))
    sieve = ("--sieve-frac", "0.2")
    code, out, err = cli(*args, *sieve, "--time-limit", "1ms")  # stops (and checkpoints) after the first step
    assert code == 0, err
    first = json.loads(out)
    assert first["status"].startswith("stopped") and first["supernet"] is None
    assert "freezing: 1 unit(s)" in err and "sparsity: 0.5 (pattern 2:4)" in err  # defaults are printed
    with safe_open(str(run / "checkpoint.safetensors"), framework="pt") as f:
        masks = [k for k in f.keys() if k.startswith("lever.spfde.sparsity.mask.")]  # noqa: SIM118 - safe_open is not iterable
        assert masks and all(f.get_tensor(k).dtype == torch.bool for k in masks)

    code, out, err = cli(*args, *sieve, "--resume")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["status"] == "complete" and doc["resumed_at_iteration"] == 1
    assert doc["steps_per_epoch"] == 4  # 16 of 20 images active per epoch (20% sieved out), batch 4
    led = doc["ledger"]
    assert set(led["saved_flops"]) == {"sparsity", "freezing", "sieving"}
    assert all(v > 0 for v in led["saved_flops"].values())
    assert led["computed_flops"] == pytest.approx(
        led["total_flops"] - led["saved_flops"]["sparsity"] - led["saved_flops"]["freezing"]
    )
    assert doc["spfde"]["sparsity"]["pattern"] == "2:4"

    # the exported supernet carries the 2:4 zeros; an extracted subnet keeps them
    from ofa_edge.supernet.checkpoint import load_supernet
    from ofa_edge.supernet.metadata import read_metadata

    training = read_metadata(doc["supernet"])["training"]  # the weights say how they were trained
    assert training["levers"]["spfde"] == doc["spfde"] and training["levers"]["spfde"]["sieving"]["frac"] == 0.2
    net = load_supernet(doc["supernet"])
    w = net.blocks[5].proj.weight.detach()
    assert ((w != 0).permute(0, 2, 3, 1).reshape(-1, 4).sum(1) <= 2).all()
    sub = net.extract(net.space.min())
    assert (sub.blocks[0].proj.weight == 0).float().mean() >= 0.5

    # resuming with other lever settings is refused with exit 2, naming the option
    code, out, err = cli(*args, "--sieve-frac", "0.3", "--resume")
    assert code == 2 and "has --sieve-frac 0.2, not --sieve-frac 0.3; drop --sieve-frac" in " ".join(err.split())


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (("--sparsity", "1.0"), "(0, 1)"),
        (
            ("--sparsity", "0"),
            "--sparsity 0: must be in (0, 1) (0.9 keeps 10% of the weights; leave it out to train dense)",
        ),
        (("--sparsity-pattern", "2:3"), "does not divide"),
        (("--freeze-flops-target", "0.9"), "beyond the network"),
        (("--sieve-frac", "1.5"), "sieve-frac"),
        (("--sparsity", "0.5", "--reorder"), "--reorder"),
    ],
)
def test_bad_lever_options_exit_2(cli, data_root, tmp_path, extra, needle):
    code, _out, err = cli(
        "train", "--epochs", "2", "--batch-size", "8", "--limit-train", "16", "--limit-val", "8", "--no-progress",
        "--data", str(data_root), "--out", str(tmp_path / "r"), *extra,
    )  # fmt: skip
    assert code == 2, err
    assert needle in err.replace("\n", " ")


def test_resume_takes_a_lever_option_given_again_with_the_value_its_default_resolved_to(cli, data_root, tmp_path):
    """`--resume --freeze-start 1` to a run whose default T_frz was 1, or `--sparsity 0.5` to a 2:4 run, was
    refused as "has --freeze-start (default), not --freeze-start 1"; the docs say the run's value is fine."""
    args = (
        "train", "--epochs", "2", "--batch-size", "4", "--limit-train", "20", "--limit-val", "8",
        "--calib-images", "8", "--probe-every", "0", "--subnets-per-step", "2", "--no-progress", "--json",
        "--sparsity-pattern", "2:4", "--freeze-flops-target", "0.001", "--sieve-frac", "0.2",
        "--data", str(data_root), "--out", str(tmp_path / "run"),
    )  # fmt: skip
    code, out, err = cli(*args, "--time-limit", "1ms")  # T_frz, Δτ and the sieve interval by default
    assert code == 0 and json.loads(out)["status"].startswith("stopped"), err
    code, _, err = cli(*args, "--resume", "--freeze-start", "0")  # another value: refused, naming it
    said = " ".join(err.split())  # with what the run's default was (it read "(default)")
    assert code == 2 and "has --freeze-start (default: 1), not --freeze-start 0; drop --freeze-start" in said, err
    code, _, err = cli(*args, "--resume", "--mask-interval", "3")  # Δτ's default (it read "(default)")
    said = " ".join(err.split())
    assert code == 2 and "has --mask-interval (default: 1), not --mask-interval 3; drop" in said, err
    again = ("--freeze-start", "1", "--sparsity", "0.5", "--mask-interval", "1", "--sieve-interval", "1")
    code, out, err = cli(*args, "--resume", *again)
    assert code == 0, err
    assert json.loads(out)["status"] == "complete"


def test_metrics_lines_carry_the_levers_savings(cli, data_root, tmp_path):
    """Each metrics.jsonl line held images, total FLOPs and steps only: a run's savings could not be followed
    epoch by epoch. With a lever on, each line now has the ledger's saved and computed FLOPs so far."""
    run = tmp_path / "run"
    code, out, err = cli(
        "train", "--epochs", "2", "--batch-size", "4", "--limit-train", "20", "--probe-every", "0",
        "--subnets-per-step", "2", "--no-progress", "--json", "--sieve-frac", "0.2", "--data", str(data_root),
        "--out", str(run),
    )  # fmt: skip
    assert code == 0, err
    lines = [json.loads(line)["ledger"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    final = json.loads(out)["ledger"]
    assert 0 < lines[0]["saved_flops"]["sieving"] < lines[1]["saved_flops"]["sieving"]
    assert lines[1]["saved_flops"] == final["saved_flops"] and lines[1]["computed_flops"] == final["computed_flops"]
