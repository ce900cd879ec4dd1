"""``resolve_spfde``: the examples its messages give are options that work."""

from __future__ import annotations

import re

import pytest

from ofa_edge.errors import UserError
from ofa_edge.train.spfde.freezing import FreezeConfig
from ofa_edge.train.spfde.options import resolve_spfde


@pytest.mark.parametrize(
    "refused",
    [
        lambda: resolve_spfde("mbv3-w1.0-cifar", 40, freeze_start=5),  # an orphan timing option
        lambda: FreezeConfig(20, 2, 0.0),  # an out-of-range target
    ],
)
def test_the_freezing_target_a_message_suggests_is_reachable_at_the_defaults(refused) -> None:
    """The messages suggested --freeze-flops-target 0.1, which `ofa-edge train` at its defaults (40 epochs,
    T_frz 20, Δτ 2) refuses as beyond the network (9.2% at most); the example is now one it takes."""
    with pytest.raises(UserError) as e:
        refused()
    example = float(re.search(r"e\.g\. (?:--freeze-flops-target )?([0-9.]+)\)", str(e.value)).group(1))
    config, notes = resolve_spfde("mbv3-w1.0-cifar", 40, freeze_flops_target=example)
    assert config.freezing is not None and config.freezing.flops_target == example, notes


@pytest.mark.parametrize(
    ("epochs", "kwargs", "option"),
    [
        (2, {"sieve_interval": 7}, "--sieve-interval 7"),
        (4, {"mask_interval": 4}, "--mask-interval 4"),  # the sieve takes Δτ
    ],
)
def test_a_sieve_that_never_moves_is_noted(epochs, kwargs, option) -> None:
    """A sieving interval of the run's length or more held the same share out for the whole run, without a word:
    those examples were never trained on, and nothing circulated (the masks' never-updating interval is noted)."""
    notes = " ".join(resolve_spfde("mbv3-w1.0-cifar", epochs, sieve_frac=0.2, **kwargs)[1])
    assert f"the data is never sieved: {option} leaves no sieve before the last of --epochs {epochs}" in notes
    assert "the share held out at the start (--sieve-frac 0.2) is never trained on" in notes


def test_a_sieve_that_moves_once_is_not_noted() -> None:
    notes = " ".join(resolve_spfde("mbv3-w1.0-cifar", 4, sieve_frac=0.2, sieve_interval=3)[1])
    assert "never sieved" not in notes


def test_a_mask_that_never_updates_is_said_to_keep_the_largest_initial_weights() -> None:
    """The note called the mask the run keeps "its first random mask"; it is the largest-magnitude weights of
    the initialisation (SparseMasks._initial_mask)."""
    notes = " ".join(resolve_spfde("mbv3-w1.0-cifar", 2, sparsity=0.5, mask_interval=5)[1])
    assert "the run keeps its first mask, the largest-magnitude weights of the initialisation" in notes
    assert "random mask" not in notes
