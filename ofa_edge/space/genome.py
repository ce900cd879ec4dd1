"""Fixed-length integer encoding of configs, and vectorized operations on batches of them.

A genome is one row of ``uint8`` choice indices::

    [res_idx, depth_idx x5, kernel_idx x20, expand_idx x20]   (46 columns)

Search, cost models, latency tables and accuracy predictors all work on ``(N, 46)`` arrays,
so scoring a population is a handful of NumPy operations, never a Python loop per config.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

import numpy as np

from ofa_edge.errors import UserError
from ofa_edge.space.config import SubnetConfig
from ofa_edge.space.search_space import MAX_DEPTH, NUM_BLOCKS, NUM_STAGES, SearchSpace

RES = slice(0, 1)
DEPTH = slice(1, 1 + NUM_STAGES)
KERNEL = slice(1 + NUM_STAGES, 1 + NUM_STAGES + NUM_BLOCKS)
EXPAND = slice(1 + NUM_STAGES + NUM_BLOCKS, 1 + NUM_STAGES + 2 * NUM_BLOCKS)
GENOME_LEN = 1 + NUM_STAGES + 2 * NUM_BLOCKS
_BLOCK_POS = np.tile(np.arange(MAX_DEPTH), NUM_STAGES)


def choices(space: SearchSpace) -> np.ndarray:
    """Number of choices per genome column (uint8, read-only: one array per space shape, as
    :func:`check_genomes` reads it on every call)."""
    return _choices(len(space.resolutions), len(space.depths), len(space.kernels), len(space.expands))


def encode(space: SearchSpace, cfgs: Sequence[SubnetConfig]) -> np.ndarray:
    """Configs -> ``(N, 46)`` uint8 genomes."""
    if isinstance(cfgs, SubnetConfig):
        raise UserError("pass a list of subnets, e.g. [cfg], not one subnet.")
    out = np.empty((len(cfgs), GENOME_LEN), dtype=np.uint8)
    r_ix = {v: i for i, v in enumerate(space.resolutions)}
    d_ix = {v: i for i, v in enumerate(space.depths)}
    k_ix = {v: i for i, v in enumerate(space.kernels)}
    e_ix = {v: i for i, v in enumerate(space.expands)}
    for n, c in enumerate(cfgs):
        if c.space != space.name:
            raise UserError(
                f"subnet {n} is of space '{c.space}', not '{space.name}'; use a supernet, table or cost model "
                f"of '{c.space}', or a subnet of '{space.name}'."
            )
        out[n, 0] = r_ix[c.resolution]
        out[n, DEPTH] = [d_ix[d] for d in c.depth]
        out[n, KERNEL] = [k_ix[k] for k in c.kernel]
        out[n, EXPAND] = [e_ix[e] for e in c.expand]
    return out


def to_genomes(
    space: SearchSpace, configs: Sequence[SubnetConfig] | np.ndarray, *, check: bool, what: str, other_space: str
) -> np.ndarray:
    """Configs (encoded) or genomes (checked unless ``check`` is off) as ``(N, 46)`` genomes of ``space``.

    A mistake is named in a :class:`UserError` that starts with ``what`` (the caller, e.g.
    ``"predict"``): one subnet instead of a list, not a list, an item that is not a
    :class:`SubnetConfig`, a subnet of another space (``other_space`` is the fix, with ``{space}``
    standing for that subnet's space), a gene out of range.
    """
    if isinstance(configs, np.ndarray):
        return check_genomes(space, configs) if check else configs
    if isinstance(configs, SubnetConfig):
        raise UserError(f"{what} takes a list of subnets: {what}([cfg]), not {what}(cfg).")
    if not isinstance(configs, Sequence) or isinstance(configs, str | bytes):
        raise UserError(
            f"{what} takes a list of SubnetConfig or an (N, 46) genome array, got {type(configs).__name__}"
            + (" (make it a list: list(...))" if isinstance(configs, Iterable) else "")
            + "."
        )
    try:
        return encode(space, configs)
    except (ValueError, TypeError, AttributeError, KeyError):  # named item by item only when encode failed
        for i, c in enumerate(configs):
            space.require_config(c, f"{what}: item {i}", other_space)
        raise


def check_genomes(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """``genomes`` as given, once it is an integer ``(N, 46)`` array whose every gene indexes a choice
    of ``space``; otherwise a :class:`UserError` naming the first bad row and column."""
    g = np.asarray(genomes)
    if g.ndim != 2 or g.shape[1] != GENOME_LEN or not np.issubdtype(g.dtype, np.integer):
        raise UserError(
            f"genomes must be an integer array of shape (N, {GENOME_LEN}), got {g.dtype} {g.shape}; "
            "ofa_edge.space.genome.encode(space, configs) makes them."
        )
    n_choices = choices(space)
    if (g >= n_choices).any() or (np.issubdtype(g.dtype, np.signedinteger) and (g < 0).any()):
        row, col = (int(i) for i in np.argwhere((g < 0) | (g >= n_choices))[0])
        n = int(n_choices[col])
        raise UserError(
            f"genome {row}, column {col} ({_column_name(col)}) is {int(g[row, col])}, but space "
            f"'{space.name}' has {n} choices there (indices 0 to {n - 1}); "
            "ofa_edge.space.genome.encode(space, configs) makes valid genomes."
        )
    return genomes


@functools.cache
def _choices(n_r: int, n_d: int, n_k: int, n_e: int) -> np.ndarray:
    n = np.array([n_r] + [n_d] * NUM_STAGES + [n_k] * NUM_BLOCKS + [n_e] * NUM_BLOCKS, dtype=np.uint8)
    n.flags.writeable = False
    return n


def _column_name(col: int) -> str:
    """What a genome column encodes, e.g. ``'kernel of block 3'``."""
    if col == 0:
        return "resolution"
    if col < KERNEL.start:
        return f"depth of stage {col - DEPTH.start}"
    if col < EXPAND.start:
        return f"kernel of block {col - KERNEL.start}"
    return f"expand of block {col - EXPAND.start}"


def decode(space: SearchSpace, genomes: np.ndarray) -> list[SubnetConfig]:
    """``(N, 46)`` genomes -> configs."""
    res, dep = np.asarray(space.resolutions), np.asarray(space.depths)
    ker, exp = np.asarray(space.kernels), np.asarray(space.expands)
    g = np.asarray(genomes, dtype=np.int64)
    return [
        SubnetConfig(
            space.name,
            int(res[row[0]]),
            tuple(dep[row[DEPTH]].tolist()),
            tuple(ker[row[KERNEL]].tolist()),
            tuple(exp[row[EXPAND]].tolist()),
        )
        for row in g
    ]


def sample(space: SearchSpace, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random genomes."""
    return (rng.random((n, GENOME_LEN)) * choices(space)).astype(np.uint8)


def mutate(space: SearchSpace, genomes: np.ndarray, rng: np.random.Generator, prob: float) -> np.ndarray:
    """Resample each gene with probability ``prob``."""
    fresh = sample(space, len(genomes), rng)
    return np.where(rng.random(genomes.shape) < prob, fresh, genomes)


def crossover(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Uniform crossover of two equally long batches of genomes."""
    return np.where(rng.random(a.shape) < 0.5, a, b)


def active_mask(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """``(N, 20)`` bool: which blocks each genome runs."""
    return _runs(space.depths)[genomes[:, DEPTH]].reshape(len(genomes), NUM_BLOCKS)


@functools.cache
def _runs(depths: tuple[int, ...]) -> np.ndarray:
    """``(D, 4)`` bool: whether a stage of each depth choice runs the block at each position."""
    return np.arange(MAX_DEPTH)[None, :] < np.asarray(depths)[:, None]


class BlockSum:
    """A per-block quantity summed over each genome's active blocks, plus its fixed part.

    ``per_block`` has shape ``(R, 20, K, E)`` (resolution, block, kernel, expand choices),
    ``fixed`` shape ``(R,)``. This is the one hot path shared by FLOPs, params and latency.
    Built once per table: the depth gene is folded into the table (inactive blocks read 0),
    and each block's flat index into it is an affine function of the genome, so scoring a
    batch is one small matrix product (exact: indices stay far below 2**24), one gather and
    one matrix-vector product.
    """

    def __init__(self, space: SearchSpace, per_block: np.ndarray, fixed: np.ndarray) -> None:
        n_r, _, n_k, n_e = per_block.shape
        n_d = len(space.depths)
        active = _runs(space.depths)[:, _BLOCK_POS].T  # (20, D): block b runs at depth choice d
        self.table = (per_block[:, :, None] * active[None, :, :, None, None]).reshape(-1)  # (R, 20, D, K, E)
        self.fixed = np.asarray(fixed, dtype=np.float64)
        per_b = n_d * n_k * n_e
        stride = np.zeros((GENOME_LEN, NUM_BLOCKS), dtype=np.float32)  # genome -> flat index, per block
        blocks = np.arange(NUM_BLOCKS)
        stride[0, :] = NUM_BLOCKS * per_b
        stride[DEPTH.start + blocks // MAX_DEPTH, blocks] = n_k * n_e
        stride[KERNEL.start + blocks, blocks] = n_e
        stride[EXPAND.start + blocks, blocks] = 1
        self._stride = stride
        self._offset = (blocks * per_b).astype(np.float32)
        self._ones = np.ones(NUM_BLOCKS)
        assert n_r * NUM_BLOCKS * per_b < 2**24, "flat indices must be exact in float32"

    def __call__(self, genomes: np.ndarray) -> np.ndarray:
        """One value per genome ``(N, 46)``."""
        idx = genomes.astype(np.float32) @ self._stride
        idx += self._offset
        return np.take(self.table, idx.astype(np.intp)) @ self._ones + self.fixed[genomes[:, 0]]


def one_hot(space: SearchSpace, genomes: np.ndarray) -> np.ndarray:
    """Predictor features: one-hot kernel and expand per active block (zeros when inactive),
    one-hot resolution. Shape ``(N, 20 * (K + E) + R)``, float32.

    One comparison of gathered genes against each feature's choice index, with the inactive
    blocks' genes first set to a value no choice has."""
    g = genomes.copy()
    off = _inactive_code(space.depths)[genomes[:, DEPTH]].reshape(len(g), 1, NUM_BLOCKS)
    genes = g[:, KERNEL.start : EXPAND.stop].reshape(len(g), 2, NUM_BLOCKS)  # a view: kernels, expands
    genes |= off
    cols, value = _feature_index(len(space.kernels), len(space.expands), len(space.resolutions))
    return (g[:, cols] == value).astype(np.float32)


@functools.cache
def _inactive_code(depths: tuple[int, ...]) -> np.ndarray:
    """``(D, 4)`` uint8: 0 where a stage of each depth choice runs the block at each position, else 255."""
    return np.where(_runs(depths), 0, 255).astype(np.uint8)


@functools.cache
def _feature_index(n_k: int, n_e: int, n_r: int) -> tuple[np.ndarray, np.ndarray]:
    """Genome column and choice index of each one-hot feature (block-major: kernels, expands; then resolution)."""
    blocks = np.arange(NUM_BLOCKS)[:, None]
    per_block = np.hstack([KERNEL.start + blocks.repeat(n_k, 1), EXPAND.start + blocks.repeat(n_e, 1)])
    cols = np.concatenate([per_block.ravel(), np.zeros(n_r, dtype=np.intp)])
    value = np.concatenate([np.tile(np.r_[np.arange(n_k), np.arange(n_e)], NUM_BLOCKS), np.arange(n_r)])
    return cols, value.astype(np.uint8)
