"""A prune run whose training diverges stops with a user error (it exported an all-NaN model.onnx
and crashed in verification with an internal error)."""

from __future__ import annotations

import pytest

from ofa_edge.data.transforms import Preprocess
from ofa_edge.errors import UserError
from ofa_edge.prune import partition
from ofa_edge.prune.run import PruneSettings, train_and_prune

PREP = Preprocess(32, (0.49, 0.48, 0.45), (0.25, 0.24, 0.26))


def test_diverged_training_is_a_user_error_naming_the_lr(tiny_resnet, cifar_test_small) -> None:
    data = cifar_test_small.subset(slice(0, 64))
    s = PruneSettings(method="hesso", target_sparsity=0.5, epochs=1, batch_size=32, lr=1e30)
    with pytest.raises(
        UserError, match=r"^training diverged in epoch 1 \(weights hold NaN or inf\); lower --lr \(1e\+30\)"
    ):
        train_and_prune(tiny_resnet, partition(tiny_resnet, PREP(data.images[:1])), data, PREP, s)
