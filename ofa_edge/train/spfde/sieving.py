"""Circular data sieving (SpFDE): train on a constant-size active set that rotates.

At the start a random ``frac`` of the training set is held out in a FIFO queue. The
trainer reports, for every training example it sees, whether the prediction was correct
(:meth:`CircularSieve.record`); a forgetting event is a correct -> incorrect transition
between two consecutive presentations. Every ``interval`` epochs (:meth:`CircularSieve.sieve`)
the ``frac`` share of the active set with the fewest forgetting events over the interval
(the easiest) moves to the queue's tail and as many examples return from its head. An
example never predicted correctly in the interval counts as the hardest (it was never
learned): it leaves only when fewer examples than the sieve moves were learned, which keeps the
rotation's size, and so its cycle bound, fixed.

The queue holds ``round(frac * n)`` examples and each sieve moves
``round(frac * active)`` of them, so every removed example returns within
``ceil(removed / moved)`` sieves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ofa_edge.errors import UserError
from ofa_edge.units import check_range

UNSEEN, WRONG, RIGHT = -1, 0, 1


@dataclass(frozen=True)
class SieveConfig:
    """Held-out fraction p and the sieving interval Δτ (epochs)."""

    frac: float
    interval: int = 1

    def __post_init__(self) -> None:
        check_range("--sieve-frac", self.frac, gt=0, lt=1, hint="(the held-out share, e.g. 0.2)")
        check_range("--sieve-interval", self.interval, ge=1, hint="epoch (its default is --mask-interval)")

    def sieves_at(self, epoch: int) -> bool:
        """Whether the active set rotates at the end of ``epoch`` (0-based)."""
        return (epoch + 1) % self.interval == 0


class CircularSieve:
    """The active set and removed queue over example indices ``0..n-1``."""

    def __init__(self, n: int, config: SieveConfig, seed: int = 0) -> None:
        self.config = config
        self.rng = np.random.default_rng(seed)
        removed = round(config.frac * n)
        if removed < 1 or n - removed < 1:
            raise UserError(
                f"--sieve-frac {config.frac} of {n} examples leaves "
                f"{'nothing held out' if removed < 1 else 'nothing to train on'}; pick a fraction that does not."
            )
        perm = self.rng.permutation(n)
        self.queue = perm[:removed].astype(np.int64)  # head first
        self.active = np.sort(perm[removed:]).astype(np.int64)
        self.moved = max(1, round(config.frac * len(self.active)))
        self.last = np.full(n, UNSEEN, dtype=np.int8)
        self.forgets = np.zeros(n, dtype=np.int64)
        self.learned = np.zeros(n, dtype=bool)

    @property
    def n(self) -> int:
        return len(self.last)

    @property
    def cycles_to_return(self) -> int:
        """Sieves after which every example now in the queue is back in the active set."""
        return math.ceil(len(self.queue) / self.moved)

    def active_indices(self) -> torch.Tensor:
        """Example indices of the current active set (sorted)."""
        return torch.from_numpy(self.active.copy())

    def record(self, indices: torch.Tensor | np.ndarray, correct: torch.Tensor | np.ndarray) -> None:
        """Log training-step correctness of examples ``indices`` (in presentation order)."""
        idx = np.asarray(indices.cpu() if torch.is_tensor(indices) else indices, dtype=np.int64)
        ok = np.asarray(correct.cpu() if torch.is_tensor(correct) else correct, dtype=bool)
        if idx.shape != ok.shape:
            raise ValueError(f"record: {idx.shape[0]} indices but {ok.shape[0]} correctness values")
        forgot = (self.last[idx] == RIGHT) & ~ok
        np.add.at(self.forgets, idx, forgot.astype(np.int64))
        self.last[idx] = np.where(ok, RIGHT, WRONG)
        self.learned[idx] |= ok

    def sieve(self) -> np.ndarray:
        """Rotate: the easiest ``moved`` active examples to the queue tail, as many back from its head.

        Returns the examples that left. Forgetting statistics restart for the next interval.
        """
        act = self.active
        score = np.where(self.learned[act], self.forgets[act].astype(np.float64), np.inf)
        tie = self.rng.random(len(act))
        order = np.lexsort((tie, score))  # fewest forgetting events first, random among ties
        leaving = act[order[: self.moved]]
        back, self.queue = self.queue[: self.moved], np.concatenate([self.queue[self.moved :], leaving])
        self.active = np.sort(np.concatenate([act[order[self.moved :]], back]))
        self.forgets[:] = 0
        self.learned[:] = False
        self.last[leaving] = UNSEEN
        self.last[back] = UNSEEN
        return leaving

    def state(self) -> tuple[dict[str, torch.Tensor], dict]:
        """Active set, queue and forgetting statistics (tensors) and JSON metadata, for checkpoints."""
        tensors = {
            "active": torch.from_numpy(self.active.copy()),
            "queue": torch.from_numpy(self.queue.copy()),
            "last": torch.from_numpy(self.last.copy()),
            "forgets": torch.from_numpy(self.forgets.copy()),
            "learned": torch.from_numpy(self.learned.copy()),
        }
        return tensors, {"config": asdict(self.config), "n": self.n, "rng": self.rng.bit_generator.state}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict) -> None:
        """Restore what :meth:`state` saved; other settings or another dataset size are a user error."""
        if meta.get("config") != asdict(self.config) or meta.get("n") != self.n:
            raise UserError(
                f"the checkpoint's sieving settings {meta.get('config')} over {meta.get('n')} examples differ "
                f"from this run's {asdict(self.config)} over {self.n}; resume with the same data and --sieve-frac."
            )
        self.active = tensors["active"].numpy().astype(np.int64)
        self.queue = tensors["queue"].numpy().astype(np.int64)
        self.last = tensors["last"].numpy().astype(np.int8)
        self.forgets = tensors["forgets"].numpy().astype(np.int64)
        self.learned = tensors["learned"].numpy().astype(bool)
        self.rng.bit_generator.state = meta["rng"]


def sieving_saved_flops(epoch_flops: float, active: int, removed: int) -> float:
    """Training FLOPs an epoch did not spend on the ``removed`` held-out examples.

    SpFDE counts a sieved epoch as costing ``active / n`` of a full-data epoch; with every
    other lever on, the cost per example is what the epoch actually spent per example.
    """
    return epoch_flops * removed / active
