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
