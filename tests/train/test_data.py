"""Training batches: the loader orders, shards and batches on the training device."""

from __future__ import annotations

import pytest
import torch

from ofa_edge.errors import UserError
from ofa_edge.train.data import DeviceLoader


def test_loader_orders_and_batches(real) -> None:
    ld = DeviceLoader(real, 8, torch.device("cpu"), (0.5,) * 3, (0.25,) * 3, seed=1)
    assert ld.steps_per_epoch == 2
    order = ld.shard(ld.order(3))
    assert torch.equal(order, ld.shard(ld.order(3))) and not torch.equal(order, ld.shard(ld.order(4)))
    x, y, idx = ld.batch(3, 1, order)
    assert x.dtype == torch.float32 and x.shape == (8, 3, 32, 32) and torch.equal(y, real.labels[idx])
    with pytest.raises(UserError, match="larger than"):
        DeviceLoader(real, 32, torch.device("cpu"), (0.5,) * 3, (0.25,) * 3, seed=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_training_batch_never_waits_for_the_gpu(real) -> None:
    """A host-to-device copy per step (the normalisation constants once were one) is a sync that
    keeps the CPU from queueing the next step while the GPU runs this one."""
    loader = DeviceLoader(real, 4, torch.device("cuda"), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), seed=0)
    shard = loader.shard(loader.order(0))
    loader.batch(0, 0, shard)  # the first batch of an epoch copies its order to the GPU, once
    torch.cuda.set_sync_debug_mode("error")
    try:
        x, y, _ = loader.batch(0, 1, shard)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert x.is_cuda and x.dtype == torch.float32 and y.is_cuda


def test_the_data_note_names_the_split_that_was_read(real, data_root) -> None:
    """A tree's val/, read for --val-split test, is called val (the set records the split it was read from)."""
    from dataclasses import replace

    from ofa_edge.train.data import data_note

    said = data_note(real, replace(real.subset(slice(5)), split="val"), str(data_root), "mbv3-w1.0-cifar", 32)
    assert said.startswith("data: 20 training and 5 val images of 10 classes (output order: airplane, "), said
