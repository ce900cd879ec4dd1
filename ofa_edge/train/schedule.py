"""Learning-rate schedules and the DεpS ε-shrinking weight β, as pure functions of the iteration.

Everything here is a function of the global iteration ``it`` (0-based), so a resumed run
recomputes the same values without saved scheduler state.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def cosine_lr(it: int, total: int, base: float, warmup: int = 0) -> float:
    """Linear warmup over ``warmup`` iterations to ``base``, then cosine decay to 0 at ``total``."""
    if it < warmup:
        return base * (it + 1) / warmup
    span = max(1, total - warmup)
    t = min(1.0, (it - warmup) / span)
    return 0.5 * base * (1.0 + math.cos(math.pi * t))


def eps_beta(it: int, shrink_start: int, ramp: int, multiplier: float, lr: Callable[[int], float]) -> float:
    """Gradient weight β of the subnets at iteration ``it`` (ε-shrinking).

    Before ``shrink_start`` the subnets do not train (β = 0). Over the next ``ramp``
    iterations β rises so that the subnets' *effective* learning rate β·lr(it) grows linearly
    per iteration, (i+1)/ramp × ``multiplier`` × lr(last ramp iteration), reaching β =
    ``multiplier`` on the ramp's last iteration; afterwards β = ``multiplier``. The effective
    LR is continuous where the ramp ends (DεpS's rule, its "teacher warmup" epoch being the
    end of the ramp).
    """
    if it < shrink_start:
        return 0.0
    if it >= shrink_start + ramp:
        return multiplier
    lr_now = lr(it)
    if lr_now <= 0.0:
        return 0.0
    target = multiplier * lr(shrink_start + ramp - 1)
    return (it - shrink_start + 1) / ramp * target / lr_now
