"""Training batches on the device: the whole dataset there, seeded epoch orders and shards,
and augmentation (random crop with padding, flip) in one gather; and the check that the training
images can train a classifier.

The datasets themselves are read by :func:`ofa_edge.data.datasets.load_dataset`.
"""

from __future__ import annotations

import torch

from ofa_edge.data import ImageSet
from ofa_edge.data.formats import crop_size
from ofa_edge.data.subset import unfilled_limit
from ofa_edge.data.transforms import augment, normalize
from ofa_edge.errors import UserError


def check_training_data(data: ImageSet, name: str, limit_train: int | None) -> str | None:
    """Refuse training data of fewer than two classes (a :class:`UserError` naming the fix); returns a
    note when ``--limit-train`` asks for more images than ``data`` (from ``name``) holds."""
    present = [data.classes[int(c)] for c in data.labels.unique()]
    if len(present) < 2:
        fix = (
            f"raise --limit-train (it takes {limit_train} image(s)) to 2 or more"
            if limit_train is not None and limit_train < len(data.classes)
            else "give the training split images of two or more classes (an ImageFolder tree: a folder per "
            "class under train/)"
        )
        raise UserError(
            f"the training images of '{name}' are all of one class ('{present[0]}'): a classifier needs at "
            f"least 2 classes; {fix}."
        )
    return unfilled_limit("--limit-train", limit_train, len(data), "training")


def data_note(train: ImageSet, val: ImageSet, root: str, space: str, size: int) -> str:
    """What the run learns from: the images of each split (``val``'s named as it was read), the classes in output
    order (the network's class count is theirs), and the size an ImageFolder tree's images are cut to for ``space``."""
    names = ", ".join(train.classes[:10]) + (", ..." if len(train.classes) > 10 else "")
    crop = crop_size(root, size)
    shape = (
        f"images resized (shorter side) and centre-cropped to {crop} px, the largest resolution of {space}"
        if crop
        else f"images as stored, {train.images.shape[-1]} px"
    )
    return (
        f"data: {len(train)} training and {len(val)} {val.split} images of {len(train.classes)} classes "
        f"(output order: {names}); {shape}"
    )


class DeviceLoader:
    """Whole dataset on the training device; epoch order and augmentation from explicit seeds.

    The order of epoch ``e`` is a permutation seeded by (seed, e), so a resumed run replays the
    same batches from any step; :meth:`shard` gives this process its part under DDP. An epoch
    trains ``epoch_samples`` samples (default: all) in full batches, in ``memory_format`` (the
    augmenting gather itself yields NHWC strides; the format is set, not left to it).
    """

    def __init__(
        self,
        data: ImageSet,
        batch_size: int,
        device: torch.device,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        seed: int,
        rank: int = 0,
        world: int = 1,
        epoch_samples: int | None = None,
        memory_format: torch.memory_format = torch.contiguous_format,
        held_out: str = "",
    ) -> None:
        """``held_out``: why an epoch trains on fewer than all images (and how to change it), for the message."""
        n = len(data) if epoch_samples is None else epoch_samples
        if batch_size * world > n:
            why = f" ({held_out})" if held_out else ""
            raise UserError(
                f"batch size {batch_size} x {world} process(es) is larger than the {n} images an epoch trains on"
                f"{why}; lower --batch-size or use more data."
            )
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self.batch_size, self.device, self.mean, self.std = batch_size, device, mean, std
        self.seed, self.rank, self.world, self.memory_format = seed, rank, world, memory_format
        self.steps_per_epoch = n // (batch_size * world)  # the last partial batch is dropped
        self._shard_src: torch.Tensor | None = None
        self._shard_dev: torch.Tensor | None = None

    def order(self, epoch: int) -> torch.Tensor:
        """The global sample order of ``epoch`` (all processes see the same one)."""
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.labels), generator=g)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This process's indices of a global order, exactly ``steps_per_epoch`` batches."""
        return order[self.rank :: self.world][: self.steps_per_epoch * self.batch_size]

    def batch(self, epoch: int, step: int, shard: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(normalised augmented images, labels, dataset indices) of one step."""
        if self._shard_src is not shard:  # one host-to-device copy per epoch, not one (a sync) per step
            self._shard_src, self._shard_dev = shard, shard.to(self.device)
        idx = self._shard_dev[step * self.batch_size : (step + 1) * self.batch_size]
        g = torch.Generator(device=self.device).manual_seed(
            (self.seed * 7_919 + epoch * 100_003 + step) * self.world + self.rank
        )
        x = augment(self.images[idx], g).contiguous(memory_format=self.memory_format)  # uint8: the cheap copy
        return normalize(x, self.mean, self.std), self.labels[idx], idx
