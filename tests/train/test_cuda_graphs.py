"""CUDA-graph training steps: replayed graphs compute what eager autograd computes.

The capture and replay themselves need a GPU (those tests skip without one); the refusals run anywhere.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.train.config import TrainConfig
from ofa_edge.train.cuda_graphs import GraphedSupernet
from ofa_edge.train.trainer import Trainer

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a CUDA device")
SPACE = SearchSpace.get("mbv3-w1.0-imagenet")


def test_cpu_supernet_is_refused() -> None:
    with pytest.raises(ValueError, match="CUDA device"):
        GraphedSupernet(Supernet(SPACE, 10))


def _sandwich(forward, net: Supernet, cfgs, x, y) -> list[float]:
    losses = []
    for cfg in cfgs:
        net.set_active(cfg)
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        losses.append(loss.item())
    return losses


def _same_step(eager: Supernet, graphed: Supernet, runner: GraphedSupernet, cfgs, x, y, step: int) -> None:
    """One sandwich through each net: equal losses, the same gradients, ``None`` for the same parameters."""
    eager.zero_grad(set_to_none=True)
    graphed.zero_grad(set_to_none=True)
    runner.zero_grad()
    want = _sandwich(eager, eager, cfgs, x, y)
    got = _sandwich(runner, graphed, cfgs, x, y)
    runner.release_unused()
    assert got == pytest.approx(want, rel=1e-4), step
    for (name, p), q in zip(eager.named_parameters(), graphed.parameters()):
        assert (p.grad is None) == (q.grad is None), (step, name)
        if p.grad is not None:
            torch.testing.assert_close(q.grad, p.grad, rtol=1e-3, atol=1e-5, msg=name)


def _twins(batch: int):
    """An eager supernet, an identical copy run through CUDA graphs, and a batch for both."""
    torch.manual_seed(0)
    eager = Supernet(SPACE, 10, dropout=0.0).cuda().train()
    graphed = copy.deepcopy(eager)
    x = torch.randn(batch, 3, 32, 32, device="cuda")
    return eager, graphed, GraphedSupernet(graphed), x, torch.randint(0, 10, (batch,), device="cuda")


@cuda
def test_graphed_steps_match_eager_steps() -> None:
    eager, graphed, runner, x, y = _twins(16)
    rng = np.random.default_rng(0)
    for step in range(3):  # step 0 captures; later steps replay, and meet new variants among the random subnets
        cfgs = [SPACE.max(), SPACE.min(), SPACE.sample(rng), SPACE.sample(rng)]
        _same_step(eager, graphed, runner, cfgs, x, y, step)
        for (name, b), c in zip(eager.named_buffers(), graphed.buffers()):
            torch.testing.assert_close(c, b, rtol=1e-4, atol=1e-5, msg=name)
        with torch.no_grad():  # an optimizer step between replays: the graphs read the weights in place
            for p, q in zip(eager.parameters(), graphed.parameters()):
                if p.grad is not None:
                    p -= 0.1 * p.grad
                    q -= 0.1 * q.grad
    stats = runner.stats()
    assert stats["captured"] > 1 and stats["capture_seconds"] > 0


@cuda
def test_frozen_blocks_run_eagerly_and_get_no_gradient() -> None:
    eager, graphed, runner, x, y = _twins(8)
    for step in range(2):
        if step == 1:  # freeze the stem and the first two blocks, as SpFDE does front to back, after capture
            for net in (eager, graphed):
                for module in (net.stem, net.blocks[0], net.blocks[1]):
                    for p in module.parameters():
                        p.requires_grad_(False)
                        p.grad = None
        _same_step(eager, graphed, runner, [SPACE.max(), SPACE.min()], x, y, step)
    assert all(p.grad is None for p in graphed.blocks[1].parameters())


@cuda
def test_parameters_no_subnet_used_get_no_gradient() -> None:
    net = Supernet(SPACE, 10).cuda().train()
    runner = GraphedSupernet(net)
    x = torch.randn(4, 3, 32, 32, device="cuda")
    for cfg in (SPACE.max(), SPACE.min()):
        runner.zero_grad()
        net.set_active(cfg)
        runner(x).sum().backward()
        runner.release_unused()
        active = set(cfg.active_blocks())
        for b, blk in enumerate(net.blocks):
            assert all((p.grad is not None) == (b in active) for p in blk.parameters()), (cfg.describe(), b)


@cuda
@pytest.mark.parametrize("amp", [False, True])
def test_trainer_with_cuda_graphs(data_root, tmp_path, amp) -> None:
    base = TrainConfig(
        data=str(data_root), out=str(tmp_path / "eager"), method="bignas", epochs=1, batch_size=8, limit_train=32,
        limit_val=8, calib_images=8, probe_every=0, subnets_per_step=3, device="cuda", seed=1, amp=amp,
    )  # fmt: skip
    eager = Trainer(base.resolved()[0]).run(show_progress=False)
    graphed_cfg = dataclasses.replace(base, out=str(tmp_path / "graphs"), cuda_graphs=True)
    graphed = Trainer(graphed_cfg.resolved()[0]).run(show_progress=False)
    assert graphed["status"] == "complete" and graphed["cuda_graphs"]["captured"] > 0
    assert graphed["ledger"]["steps"] == eager["ledger"]["steps"] == 4
    loss = [json.loads(Path(r["metrics"]).read_text().splitlines()[0])["train_loss"] for r in (eager, graphed)]
    assert loss[1] == pytest.approx(loss[0], rel=2e-2 if amp else 1e-3)  # bfloat16: same casts, other kernels
