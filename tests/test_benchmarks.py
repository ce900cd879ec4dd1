"""The GPU benchmarks that issues 3 and 7 still wait on run end to end at toy size on the CPU, so a
GPU lease is never spent finding that one of them broke."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).parents[1]


def _run(args: list[str], data_root: Path) -> dict:
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, *args, "--data", str(data_root)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout[done.stdout.index("{") :])


def test_reproduction_trains_every_method_at_both_budgets(data_root, tmp_path) -> None:
    doc = _run(
        ["benchmarks/train_cost.py", "--device", "cpu", "--batch", "4", "--no-ofa", "--repro", "--epochs", "6",
         "--limit-train", "4", "--limit-val", "8", "--runs", str(tmp_path)],
        data_root,
    )  # fmt: skip
    rows = {(r["budget"], r["method"]): r for r in doc["reproduction"]["rows"]}
    assert set(rows) == {(b, m) for b in ("same", "paper") for m in ("deps", "ofa", "bignas")}
    assert rows["paper", "ofa"]["epochs"] == round(6 * 590 / 270) and rows["same", "ofa"]["epochs"] == 6
    assert rows["paper", "ofa"]["train_flops"] > rows["same", "ofa"]["train_flops"] > 0
    for r in rows.values():
        assert r["train_seconds"] > 0 and set(r["top1"]) >= {"min", "mid", "max"}


def test_spfde_benchmark_saves_the_flops_each_lever_claims(data_root, tmp_path) -> None:
    doc = _run(
        ["benchmarks/bench_spfde.py", "--device", "cpu", "--epochs", "2", "--limit-train", "16", "--limit-val", "16",
         "--calib-images", "16", "--batch-size", "8", "--subnets-per-step", "2", "--interval", "1",
         "--freeze-start", "1", "--freeze-target", "0.001", "--out", str(tmp_path), "--no-progress"],
        data_root,
    )  # fmt: skip
    rows = {r["variant"]: r for r in doc["rows"]}
    assert list(rows) == ["deps", "deps+fs", "deps+fss"]
    assert rows["deps"]["computed_flops"] == rows["deps"]["dense_flops"] and not rows["deps"]["saved_flops"]
    assert set(rows["deps+fs"]["saved_flops"]) == {"freezing", "sieving"}
    assert set(rows["deps+fss"]["saved_flops"]) == {"sparsity", "freezing", "sieving"}
    assert rows["deps+fss"]["computed_flops"] < rows["deps+fs"]["computed_flops"] < rows["deps"]["computed_flops"]
    assert rows["deps+fs"]["images"] < rows["deps"]["images"]  # sieving holds a fifth of the data out


def test_step_cost_compares_the_dynamic_sandwich_with_its_static_subnets(data_root) -> None:
    doc = _run(
        ["benchmarks/train_cost.py", "--device", "cpu", "--batch", "2", "--reps", "1", "--warmup", "0", "--no-ofa",
         "--trainer-ops"],
        data_root,
    )  # fmt: skip
    steps = doc["steps"]
    assert len(steps["subnets"]) == 4 and steps["dynamic_over_static"] > 0
    ops = steps["dispatched_ops"]
    assert ops["dynamic_max"] == ops["static_max"]  # the max net is the whole tensors: no slicing left
    assert ops["dynamic_sandwich"] > ops["static_sandwich_sum"]  # the sliced weights' backward and accumulation
    for phase in ("full_model", "sandwich"):
        assert doc["trainer_ops"][phase]["trainer_step"] >= doc["trainer_ops"][phase]["bare_step"]


def test_shape_cost_times_each_setting_in_its_own_process(tmp_path) -> None:
    out = tmp_path / "shape_cost.json"
    env = os.environ | {"OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "benchmarks/shape_cost.py", "--device", "cpu", "--batch", "2", "--subnets", "2", "--reps", "1",
         "--settings", "cudnn,no-cudnn", "--json", str(out)],
        check=True, cwd=ROOT, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    rows = json.loads(out.read_text())["rows"]
    assert [r["setting"] for r in rows] == ["cudnn", "no-cudnn"]
    assert all(r["sandwich_step_s"] > 0 and r["new_subnet_first_s"]["median"] > 0 for r in rows)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine without CUDA")
@pytest.mark.parametrize("script", ["train_cost.py", "shape_cost.py"])
def test_a_gpu_asked_of_a_machine_without_one_is_a_usage_error(
    script: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # shape_cost imports train_cost, as a script does
    monkeypatch.setattr(sys, "argv", [script, "--device", "cuda"])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(ROOT / "benchmarks" / script), run_name="__main__")
    assert done.value.code == 2
    assert "--device cuda was asked for but CUDA is not available here" in capsys.readouterr().err
