"""The CIFAR-10 sample shipped with the embedded supernet: export's default images, and when it is used."""

from __future__ import annotations

import hashlib

import pytest
import torch

from ofa_edge.data import sample
from ofa_edge.data.datasets import load_dataset
from ofa_edge.data.sample import SAMPLE_IMAGES, SAMPLE_ROOT, data_or_sample, sample_classes
from ofa_edge.errors import UserError


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


def test_the_sample_stands_in_only_for_a_missing_cifar10_and_a_cifar10_model(tmp_path, monkeypatch, data_root) -> None:
    cifar = sample_classes()
    assert data_or_sample(tmp_path, cifar, {}) == (tmp_path, None)  # --data wins
    assert data_or_sample(None, cifar, {}) == (sample.DEFAULT_ROOT, None)  # the full set is here
    monkeypatch.setattr(sample, "DEFAULT_ROOT", tmp_path / "no-cifar")
    root, said = data_or_sample(None, cifar, {"--bn-images": SAMPLE_IMAGES})
    assert root == SAMPLE_ROOT and "sample shipped with the embedded supernet" in said
    assert data_or_sample(None, ["cat", "dog"], {}) == (tmp_path / "no-cifar", None)  # another task: named missing
    with pytest.raises(UserError, match=r"fewer than --bn-images 2001\. Pass --data"):
        data_or_sample(None, cifar, {"--bn-images": SAMPLE_IMAGES + 1})
