"""Data-parallel training on the CPU (gloo): two real processes under ``torchrun`` and the agreements
between ranks (identical weights, one stop decision)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.supernet.checkpoint import load_supernet
from ofa_edge.train.distributed import check_replicas, dist_context, rank0_decides

REPO = Path(__file__).resolve().parents[2]
WORLD = 2


def _verdict(net: nn.Module) -> str:
    """``check_replicas``'s verdict on ``net``: "agree" or its error."""
    try:
        check_replicas(net)
    except RuntimeError as e:
        return str(e)
    return "agree"


def _worker(rank: int, store: str, results: str) -> None:
    """Check identical replicas, then replicas one ulp apart on rank 1 (one process group for both)."""
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 2))
        agree = _verdict(net)
        if rank == 1:
            with torch.no_grad():  # one ulp in one weight
                w = net[1].weight
                w[0, 0] = torch.nextafter(w[0, 0], torch.tensor(1.0))
        perturbed = _verdict(net)
        decided = rank0_decides(rank == 0, torch.device("cpu"))
        doc = {"agree": agree, "perturbed": perturbed, "decided": decided}
        Path(results, f"rank{rank}.json").write_text(json.dumps(doc))
    finally:
        dist.destroy_process_group()


def test_replica_check_sees_one_ulp_and_rank0_decides_for_all(tmp_path) -> None:
    mp.spawn(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=WORLD, join=True)
    got = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(WORLD)]
    assert [g["decided"] for g in got] == [True, True]
    for g in got:
        assert g["agree"] == "agree"
        assert "replicas diverged: rank(s) [1]" in g["perturbed"] and "1.weight" in g["perturbed"]


def _torchrun(out: Path, data_root: Path, *extra: str) -> dict:
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={WORLD}",
        "-m", "ofa_edge", "train", "--method", "deps", "--data", str(data_root), "--epochs", "2",
        "--batch-size", "2", "--limit-train", "20", "--limit-val", "8", "--calib-images", "8", "--eps-epochs", "1",
        "--subnets-per-step", "3", "--device", "cpu", "--seed", "2", "--probe-every", "0", "--no-progress",
        "--sparsity", "0.5", "--sparsity-pattern", "2:4", "--sieve-frac", "0.2", "--out", str(out), "--json", *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, check=False, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def test_two_processes_train_stop_together_and_resume_to_the_uninterrupted_weights(tmp_path, data_root) -> None:
    """deps + 2:4 sparsity + sieving on two gloo processes: the replicas stay identical (checked at
    every checkpoint), a time limit stops both ranks at the same step mid-epoch, and the resumed run
    ends with the weights of the uninterrupted one."""
    ref = _torchrun(tmp_path / "ref", data_root)
    # 20 images, 20% sieved: 16 active, 4 steps of 2 x 2 per epoch
    assert ref["status"] == "complete" and ref["steps_per_epoch"] == 4
    assert ref["ledger"]["images"] == 2 * 4 * WORLD * 2 and ref["ledger"]["device"].startswith(f"{WORLD}x ")
    assert set(ref["ledger"]["saved_flops"]) == {"sparsity", "sieving"}

    stopped = _torchrun(tmp_path / "run", data_root, "--time-limit", "1ms", "--ckpt-every", "2")
    # under DDP the limit is checked where the ranks synchronise: here the checkpoint mid-epoch 0
    assert stopped["status"].startswith("stopped") and stopped["ledger"]["steps"] == 2
    resumed = _torchrun(tmp_path / "run", data_root, "--resume")  # each rank continues its own shard
    assert resumed["status"] == "complete" and resumed["resumed_at_iteration"] == 2

    want, got = load_supernet(ref["supernet"]).state_dict(), load_supernet(resumed["supernet"]).state_dict()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-5, atol=1e-6, msg=k)


def test_more_processes_than_gpus_is_a_user_error(monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "2")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(UserError, match="has 2 GPU"):
        dist_context("cuda")
    assert not dist.is_initialized()
