"""The CIFAR-10 sample shipped with the embedded supernet, so ``export`` and ``quickstart`` run right
after install, offline: per split, the images export draws from the full CIFAR-10 by default
(``scripts/build_cifar10_sample.py`` writes it)."""

from __future__ import annotations

from pathlib import Path

from ofa_edge.data.formats import DEFAULT_ROOT
from ofa_edge.errors import UserError
from ofa_edge.paths import pretrained_dir

SAMPLE_ROOT = pretrained_dir() / "cifar10-sample"
SAMPLE_IMAGES = 2000  # per split


def sample_classes() -> list[str]:
    """The sample's class names (CIFAR-10's, in index order)."""
    return (SAMPLE_ROOT / "classes.txt").read_text().split()


def data_or_sample(data: Path | None, classes: list[str] | None, needs: dict[str, int]) -> tuple[Path, str | None]:
    """``--data`` if given; else the full CIFAR-10 (``DEFAULT_ROOT``) when it is there or the model is not a
    CIFAR-10 one (``classes``), which then names what is missing; else the shipped sample, with the note that
    says so. ``needs`` maps each option that takes images from the data to its count: more than the sample
    holds is refused."""
    if data is not None:
        return data, None
    if DEFAULT_ROOT.is_dir() or classes != sample_classes():
        return DEFAULT_ROOT, None
    over = [f"{flag} {n}" for flag, n in needs.items() if n > SAMPLE_IMAGES]
    if over:
        raise UserError(
            f"no --data, and no CIFAR-10 at {DEFAULT_ROOT}: the sample shipped with the embedded supernet holds "
            f"{SAMPLE_IMAGES} training and {SAMPLE_IMAGES} test images, fewer than {', '.join(over)}. Pass --data "
            "PATH to CIFAR-10 (packed JPEG, or torchvision's cifar-10-batches-py), or ask for fewer images."
        )
    return SAMPLE_ROOT, (
        f"no --data, and no CIFAR-10 at {DEFAULT_ROOT} ($OFA_EDGE_DATA): using the CIFAR-10 sample shipped with "
        f"the embedded supernet ({SAMPLE_IMAGES} training + {SAMPLE_IMAGES} test images, the ones export draws "
        "from the full set by default)"
    )
