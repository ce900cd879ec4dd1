"""Datasets in four formats decode to the same uint8 tensors; augmentation is on-device and seeded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ofa_edge.errors import UserError
from ofa_edge.train.data import DeviceLoader, augment, detect_format, load_dataset, require_same_classes


def test_packed_subset_is_balanced_and_decoded(data_root, real) -> None:
    assert detect_format(data_root) == "packed"
    assert real.images.dtype == torch.uint8 and real.images.shape == (20, 3, 32, 32)
    assert np.bincount(real.labels.numpy(), minlength=10).max() <= 4


def test_cifar_binary_matches_the_images(tmp_path, real) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    rows = np.concatenate([real.labels.numpy()[:, None].astype(np.uint8), real.images.reshape(20, -1).numpy()], 1)
    for i in range(1, 6):
        rows[(i - 1) * 4 : i * 4].tofile(folder / f"data_batch_{i}.bin")
    rows[:3].tofile(folder / "test_batch.bin")
    (folder / "batches.meta.txt").write_text("\n".join(real.classes) + "\n")
    got = load_dataset(tmp_path, "train")
    assert torch.equal(got.images, real.images) and torch.equal(got.labels, real.labels)
    assert got.classes == real.classes and len(load_dataset(tmp_path, "test")) == 3
    (folder / "test_batch.bin").write_bytes(b"\x00" * 100)
    with pytest.raises(UserError, match="malformed"):
        load_dataset(tmp_path, "test")


def test_imagefolder_tree(tmp_path, real) -> None:
    for i in range(6):
        d = tmp_path / "train" / real.classes[int(real.labels[i])]
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(d / f"{i}.png")
    got = load_dataset(tmp_path, "train", size=32)
    assert len(got) == 6 and got.images.shape[1:] == (3, 32, 32)
    assert sorted(got.images.sum((1, 2, 3)).tolist()) == sorted(real.images[:6].sum((1, 2, 3)).tolist())
    with pytest.raises(UserError, match="no 'test/' folder"):
        load_dataset(tmp_path, "test")


def test_bad_datasets_are_user_errors(tmp_path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(tmp_path / "nope", "train")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "x.txt").write_text("hi")
    with pytest.raises(UserError, match="not a dataset"):
        load_dataset(empty, "train")


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


def test_limit_takes_a_class_balanced_subset(data_root) -> None:
    got = load_dataset(data_root, "train", limit=25, seed=3)
    counts = np.bincount(got.labels.numpy(), minlength=10)
    assert counts.sum() == 25 and counts.max() - counts.min() <= 1
    again = load_dataset(data_root, "train", limit=25, seed=3)
    assert torch.equal(again.labels, got.labels) and torch.equal(again.images, got.images)
    other = load_dataset(data_root, "train", limit=25, seed=4)
    assert not torch.equal(other.images, got.images)


def test_labels_beyond_the_class_list_and_splits_with_other_classes_are_user_errors(tmp_path, real, data_root) -> None:
    for split, n in (("train", 6), ("test", 4)):
        for i in range(n):
            d = tmp_path / "tree" / split / real.classes[int(real.labels[i])]
            d.mkdir(parents=True, exist_ok=True)
            Image.fromarray(real.images[i].permute(1, 2, 0).numpy()).save(d / f"{i}.png")
    train, test = load_dataset(tmp_path / "tree", "train"), load_dataset(tmp_path / "tree", "test")
    with pytest.raises(UserError, match="names other classes than 'train'"):
        require_same_classes(train, test, tmp_path / "tree", "test")
    require_same_classes(train, train, tmp_path / "tree", "train")
    packed = tmp_path / "packed"
    packed.mkdir()
    for f in data_root.iterdir():
        if f.name != "classes.txt":
            (packed / f.name).symlink_to(f.resolve())
    (packed / "classes.txt").write_text("airplane\nautomobile\n")  # 2 names for 10 labels
    with pytest.raises(UserError, match="class list names 2 classes"):
        load_dataset(packed, "test", limit=20)
