"""Training batches: augmentation is on-device and seeded; the loader orders, shards and batches."""

from __future__ import annotations

import pytest
import torch

from ofa_edge.errors import UserError
from ofa_edge.train.data import DeviceLoader, augment


def test_augment_crops_and_flips_exactly() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).reshape(2, 3, 8, 8).to(torch.uint8)
    g = torch.Generator().manual_seed(0)
    y = augment(x, g, pad=0)  # no padding: each image is itself or its mirror
    for i in range(2):
        assert torch.equal(y[i], x[i]) or torch.equal(y[i], x[i].flip(-1))
    y1, y2 = augment(x, torch.Generator().manual_seed(5), pad=2), augment(x, torch.Generator().manual_seed(5), pad=2)
    assert torch.equal(y1, y2) and y1.shape == x.shape
    # every output row is a (possibly mirrored, shifted) row of the zero-padded input
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    rows = {tuple(r.tolist()) for r in padded[0, 0]}
    for r in y1[0, 0]:
        assert any(tuple(r.tolist()) in {row[o : o + 8], row[::-1][o : o + 8]} for row in rows for o in range(5))


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
