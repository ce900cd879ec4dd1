"""The latency-table keys a space needs: every block shape plus stem, head and classifier.

Keys are the canonical strings of :class:`~ofa_edge.space.search_space.BlockShape` and of the
space's fixed parts, so the table, the logs and the CLI all name a block the same way.
"""

from __future__ import annotations

import itertools

from ofa_edge.space.search_space import NUM_BLOCKS, SearchSpace


def fixed_keys(space: SearchSpace, resolution: int, num_classes: int) -> list[str]:
    """Keys of the parts every subnet at ``resolution`` runs (stem, first block, head)."""
    return [key for key, _, _ in space.fixed_parts(resolution, num_classes).values()]


def required_keys(space: SearchSpace, resolutions: list[int] | tuple[int, ...], num_classes: int) -> list[str]:
    """Every distinct key any config at ``resolutions`` can need, in a stable order."""
    seen: dict[str, None] = {}
    for r in resolutions:
        for key in fixed_keys(space, r, num_classes):
            seen[key] = None
        for b, k, e in itertools.product(range(NUM_BLOCKS), space.kernels, space.expands):
            seen[space.block_shape(r, b, k, e).key()] = None
    return list(seen)
