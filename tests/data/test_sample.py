"""The CIFAR-10 sample shipped with the embedded supernet: export's default images (when the CLI takes it:
tests/cli/test_common.py)."""

from __future__ import annotations

import hashlib

import pytest
import torch

from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.sample import SAMPLE_IMAGES, SAMPLE_ROOT, sample_classes


@pytest.mark.parametrize("split", ["train", "test"])
def test_the_sample_holds_the_images_export_draws_from_the_full_set(data_root, split) -> None:
    full = load_dataset(data_root, split, limit=SAMPLE_IMAGES, seed=0, balanced=False)  # export's _images
    mine = load_dataset(SAMPLE_ROOT, split, limit=SAMPLE_IMAGES, seed=0, balanced=False)
    assert torch.equal(full.images, mine.images) and torch.equal(full.labels, mine.labels)
    assert mine.classes == full.classes == sample_classes()


def test_the_sample_matches_its_checksums() -> None:
    for line in (SAMPLE_ROOT / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((SAMPLE_ROOT / name).read_bytes()).hexdigest() == digest, name
