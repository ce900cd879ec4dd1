"""A dataset's classes must be the network's (their number, and their names where its training recorded them),
and every split's the training split's: eval, export, prune, train and the accuracy measurement refuse the same way."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ofa_edge.data.classes import TrainedOn, require_num_classes, require_same_classes
from ofa_edge.errors import UserError, for_cli


def test_a_dataset_with_another_number_of_classes_is_named(cifar_test_small) -> None:
    require_num_classes(cifar_test_small, 10, "cifar")
    with pytest.raises(UserError, match=r"^data \(--data\) 'cifar' has 10 classes but the network predicts 100; pass"):
        require_num_classes(cifar_test_small, 100, "cifar")
    names = list(cifar_test_small.classes)
    require_num_classes(cifar_test_small, 10, "cifar", TrainedOn(names))
    with pytest.raises(
        UserError, match=r"names other classes than the network was trained on \(10 vs 10; only in one: cat, puma\)"
    ):
        require_num_classes(cifar_test_small, 10, "cifar", TrainedOn([n.replace("cat", "puma") for n in names]))
    with pytest.raises(UserError, match="same names in another order"):
        require_num_classes(cifar_test_small, 10, "cifar", TrainedOn(names[::-1]))


def test_the_folder_the_training_recorded_is_named_as_the_fix(cifar_test_small) -> None:
    """The Python caller is told the argument and the flag; the CLI the flag alone, as it always said."""
    trained = TrainedOn(["ant", "bee", "cat"], "/data/mine")
    with pytest.raises(UserError, match=r"predicts 3 \(ant, bee, cat\); pass the dataset it was trained on") as e:
        require_num_classes(cifar_test_small, 3, "cifar", trained)
    assert str(e.value).endswith("(data (--data) /data/mine).")
    assert for_cli(e.value) == (
        "--data 'cifar' has 10 classes but the network predicts 3 (ant, bee, cat); pass the dataset it was trained "
        "on (--data /data/mine)."
    )


def test_another_split_is_named_by_the_split_it_was_read_from(cifar_test_small) -> None:
    """A tree's val/ read for 'test' is named val (the set records it), not the split that was asked for."""
    train = replace(cifar_test_small, split="train")
    val = replace(cifar_test_small, classes=cifar_test_small.classes[::-1], split="val")
    require_same_classes(train, replace(val, classes=train.classes), "tree")
    with pytest.raises(
        UserError, match=r"^split 'val' of 'tree' names other classes than 'train' \(10 vs 10; same names in another"
    ):
        require_same_classes(train, val, "tree")
