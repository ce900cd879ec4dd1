"""``ofa-edge train``: bad input exits 2 with a message naming the problem; defaults are printed."""

from __future__ import annotations

import json
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


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--warmup-frac", "1.0"], "--warmup-frac must be in [0, 1)"),
        (["--warmup-frac", "-0.1"], "--warmup-frac must be in [0, 1)"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--grad-agg", "max"], "--grad-agg must be 'sum' or 'avg'"),
        (["--method", "spos"], "unknown --method 'spos'"),
        (["--method", "ofa", "--epochs", "3"], "needs at least 6 epochs"),
        (["--batch-size", "16"], "larger than the 8 images"),
        (["--cuda-graphs"], "--cuda-graphs needs a CUDA device, but the run is on 'cpu'"),
        (["--epochs", "10", "--warmup-frac", "0.95"], "leaves DεpS no epoch to shrink in"),
        (["--epochs", "1", "--warmup-frac", "0.6"], "use a fraction below 0.500"),
        (["--method", "ofa", "--epochs", "6", "--lr-warmup-epochs", "2"], "full-model phase (1 of 6 epochs)"),
        (["--weight-decay", "-1"], "--weight-decay must be >= 0"),
    ],
)
def test_bad_hyperparameters_exit_2(cli, data_root, tmp_path, args, message) -> None:
    code, _, err = cli("train", "--data", str(data_root), "--out", str(tmp_path / "r"), *BASE, *args)
    assert code == 2, err
    assert message in " ".join(err.split())


def test_bad_datasets_exit_2(cli, data_root, tmp_path) -> None:
    code, _, err = cli("train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "r"), *BASE)
    assert code == 2 and "does not exist" in " ".join(err.split())
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
    code, out, _ = cli(*args, "--resume")
    doc = json.loads(out)
    assert (
        code == 0 and doc["status"] == "complete" and doc["resumed_at_iteration"] == 1 and doc["ledger"]["steps"] == 2
    )
    err = " ".join(err.split())
    assert "lr: 0.003125 (0.1 x global batch 8 / 256)" in err and "ignored by --method bignas" in err
    code, _, err = cli(*args)
    assert code == 2 and "--resume" in err
    code, _, err = cli(*[a if a != "bignas" else "deps" for a in args], "--resume")
    assert code == 2 and "method: run has 'bignas', now 'deps'" in " ".join(err.split())


def test_resume_on_other_data_is_refused(cli, data_root, tmp_path, real) -> None:
    from PIL import Image

    tree = tmp_path / "tree"
    for split in ("train", "test"):
        for i in range(12):
            d = tree / split / real.classes[int(real.labels[i])]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(d / f"{i}.png")
    args = ["train", "--method", "bignas", "--out", str(tmp_path / "r"), "--epochs", "2", "--subnets-per-step", "2",
            "--probe-every", "0", *BASE, "--json"]  # fmt: skip
    code, _, err = cli(*args, "--data", str(data_root), "--time-limit", "1ms")
    assert code == 0, err
    code, _, err = cli(*args, "--data", str(tree), "--resume")
    err = " ".join(err.split())
    assert code == 2 and "classes: run has 10 (airplane, automobile" in err, err
