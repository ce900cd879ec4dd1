"""The CIFAR-10 sample shipped with the embedded supernet, so ``export`` and ``quickstart`` run right
after install, offline: per split, the images export draws from the full CIFAR-10 by default
(``scripts/build_cifar10_sample.py`` writes it)."""

from __future__ import annotations

from ofa_edge.paths import pretrained_dir

SAMPLE_ROOT = pretrained_dir() / "cifar10-sample"
SAMPLE_IMAGES = 2000  # per split


def sample_classes() -> list[str]:
    """The sample's class names (CIFAR-10's, in index order)."""
    return (SAMPLE_ROOT / "classes.txt").read_text().split()
