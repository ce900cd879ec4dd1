"""The classes a dataset must share with a network, or with its other splits: label i must mean output i.

Light (no torch), so a checkpoint's header can say what its training recorded
(:func:`~ofa_edge.supernet.metadata.trained_on`) without loading a loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ofa_edge.errors import UserError, option_name

if TYPE_CHECKING:
    from ofa_edge.data.packed_jpeg import ImageSet


@dataclass(frozen=True)
class TrainedOn:
    """What a network's training recorded of its dataset: the class names in output order and the dataset folder
    (absolute); ``None`` where it recorded none."""

    classes: list[str] | None = None
    data: str | None = None


def require_num_classes(data: ImageSet, num_classes: int, root: str | Path, trained: TrainedOn | None = None) -> None:
    """Raise a :class:`UserError` unless ``data`` (read from ``root``) has the ``num_classes`` classes the network
    predicts and, where its training recorded their names (``trained``), those names in that order. The folder the
    training recorded is named as the one to pass."""
    trained = trained or TrainedOn()
    option = option_name("data")
    fix = "pass the dataset it was trained on" + (f" ({option} {trained.data})" if trained.data else "")
    names = trained.classes
    if len(data.classes) != num_classes:
        listed = f" ({', '.join(names[:6])}{', ...' if len(names) > 6 else ''})" if names else ""
        raise UserError(
            f"{option} '{root}' has {len(data.classes)} classes but the network predicts {num_classes}{listed}; {fix}."
        )
    if names is not None and data.classes != names:
        raise UserError(
            f"{option} '{root}' names other classes than the network was trained on "
            f"({_class_difference(data.classes, names)}); its outputs would be scored against the wrong labels: {fix}."
        )


def require_same_classes(train: ImageSet, other: ImageSet, root: str | Path) -> None:
    """Raise a :class:`UserError` unless ``other`` names the classes ``train`` does, in the same order: its label i
    must mean the class the network learned as i. The message names the split ``other`` was read from."""
    if other.classes == train.classes:
        return
    raise UserError(
        f"split '{other.split}' of '{root}' names other classes than '{train.split}' "
        f"({_class_difference(other.classes, train.classes)}); give both splits the same class folders."
    )


def _class_difference(found: list[str], expected: list[str]) -> str:
    """How two class lists differ, for a message: their counts and the names only one holds, or their order."""
    differ = sorted(set(found) ^ set(expected))
    detail = f"only in one: {', '.join(differ[:6])}" if differ else "same names in another order"
    return f"{len(found)} vs {len(expected)}; {detail}"
