"""Accuracy predictor: an MLP (ReLU) on one-hot subnet features, as once-for-all uses.

once-for-all's MLP is 3 x 400, sized for its ~16,000 measured ImageNet subnets. The default
here is 3 x 128: on the embedded supernet's 150 measured subnets, 5-fold cross-validation
(3 seeds) gives the same error for both (RMSE 1.12 vs 1.14 points, Kendall tau 0.57 for
both), and 128 costs 7.7x fewer FLOPs per prediction, which is most of a search's time.

Trained with torch; inference is a NumPy forward pass over a whole batch of genomes (no
autograd, no per-call thread start-up), which is what keeps the evolutionary search fast.
Weights are saved as safetensors with the fit report in the header.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from ofa_edge.errors import UserError
from ofa_edge.io import atomic_write_bytes
from ofa_edge.space.genome import one_hot
from ofa_edge.space.search_space import SearchSpace

FORMAT = "ofa-edge-accuracy-predictor/1"
TEST_FRACTION = 0.2  # measured subnets held out for the fit's RMSE and Kendall tau


@dataclass(frozen=True)
class FitReport:
    """Held-out quality of a fitted predictor (accuracies in percent)."""

    n_train: int
    n_test: int
    rmse: float
    kendall_tau: float
    epochs: int


class AccuracyPredictor:
    """Predicts top-1 (%) of a subnet from its genome."""

    def __init__(
        self,
        space: SearchSpace,
        weights: list[np.ndarray],
        biases: list[np.ndarray],
        base: float,
        report: FitReport | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.space = space
        self.weights = [np.ascontiguousarray(w, dtype=np.float32) for w in weights]
        self.biases = [b.astype(np.float32) for b in biases]
        self.base = float(base)
        self.report = report
        self.meta = dict(meta or {})

    # ------------------------------------------------------------ inference
    def predict(self, genomes: np.ndarray) -> np.ndarray:
        """Predicted top-1 (%) for ``(N, 46)`` genomes, one batched forward pass."""
        h = one_hot(self.space, genomes)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = h @ w
            h += b
            if i < last:
                np.maximum(h, 0.0, out=h)
        return h[:, 0].astype(np.float64) + self.base

    __call__ = predict

    # -------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        space: SearchSpace,
        genomes: np.ndarray,
        top1: np.ndarray,
        *,
        hidden: int = 128,
        layers: int = 3,
        epochs: int = 300,
        test_fraction: float = TEST_FRACTION,
        seed: int = 0,
    ) -> AccuracyPredictor:
        """Fit on measured accuracies; a seeded ``test_fraction`` is held out for RMSE and Kendall tau."""
        import torch
        from scipy.stats import kendalltau

        top1 = np.asarray(top1, dtype=np.float64)
        if len(top1) < 5:
            raise UserError(f"need at least 5 measured subnets to fit an accuracy predictor, got {len(top1)}.")
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(top1))
        n_test = max(1, round(test_fraction * len(top1)))
        test, train = order[:n_test], order[n_test:]
        base = float(top1[train].mean())
        torch.manual_seed(seed)
        dims = [one_hot(space, genomes[:1]).shape[1]] + [hidden] * layers + [1]
        mods: list[torch.nn.Module] = []
        for i in range(len(dims) - 1):
            mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                mods.append(torch.nn.ReLU())
        net = torch.nn.Sequential(*mods)
        x = torch.from_numpy(one_hot(space, genomes[train]))
        y = torch.from_numpy((top1[train] - base).astype(np.float32))[:, None]
        params = list(net.parameters())
        adam = _Adam(params, weight_decay=1e-4)
        gen = torch.Generator().manual_seed(seed)
        batch = min(64, len(train))
        for epoch in range(epochs):
            lr = 0.5e-3 * (1 + np.cos(np.pi * epoch / epochs))  # cosine schedule
            perm = torch.randperm(len(train), generator=gen)
            for i in range(0, len(train), batch):
                idx = perm[i : i + batch]
                loss = torch.nn.functional.mse_loss(net(x[idx]), y[idx])
                grads = torch.autograd.grad(loss, params)
                adam.step(grads, lr)
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        pred = cls(
            space, [m.weight.detach().numpy().T for m in linears], [m.bias.detach().numpy() for m in linears], base
        )
        p = pred.predict(genomes[test])
        rmse = float(np.sqrt(np.mean((p - top1[test]) ** 2)))
        tau = float(kendalltau(p, top1[test]).statistic) if len(test) > 1 else float("nan")
        pred.report = FitReport(len(train), len(test), rmse, tau, epochs)
        return pred

    # ------------------------------------------------------------------- I/O
    def save(self, path: str | Path, meta: dict[str, Any] | None = None) -> None:
        """Write weights (safetensors) with space, base accuracy, fit report and ``meta``."""
        from safetensors.numpy import save

        self.meta.update(meta or {})
        header = {
            "format": FORMAT,
            "space": self.space.name,
            "base": self.base,
            "report": asdict(self.report) if self.report else None,
            **self.meta,
        }
        tensors = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            tensors[f"layers.{i}.weight"] = np.ascontiguousarray(w)
            tensors[f"layers.{i}.bias"] = np.ascontiguousarray(b)
        atomic_write_bytes(path, save(tensors, metadata={"ofa_edge": json.dumps(header)}))

    @classmethod
    def load(cls, path: str | Path) -> AccuracyPredictor:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"accuracy predictor '{path}' does not exist.")
        try:
            with safe_open(str(path), framework="numpy") as f:
                header = json.loads((f.metadata() or {}).get("ofa_edge", "{}"))
                n = len([k for k in f.keys() if k.endswith(".weight")])  # noqa: SIM118 - safe_open is not iterable
                weights = [f.get_tensor(f"layers.{i}.weight") for i in range(n)]
                biases = [f.get_tensor(f"layers.{i}.bias") for i in range(n)]
        except (SafetensorError, OSError, json.JSONDecodeError) as e:
            raise UserError(f"'{path}' is not a readable accuracy predictor ({e}); delete it to refit.") from None
        if header.get("format") != FORMAT:
            raise UserError(f"'{path}' is not an ofa-edge accuracy predictor (format {header.get('format')!r}).")
        report = FitReport(**header["report"]) if header.get("report") else None
        meta = {k: v for k, v in header.items() if k not in ("format", "space", "base", "report")}
        return cls(SearchSpace.get(header["space"]), weights, biases, header["base"], report, meta)


class _Adam:
    """Adam with decoupled weight decay, in a few tensor ops. (``torch.optim`` would import
    TorchDynamo on first use, seconds of start-up for a fit that itself takes about a second.)"""

    def __init__(self, params: list, weight_decay: float, betas: tuple[float, float] = (0.9, 0.999)) -> None:
        import torch

        self.params, self.wd, self.betas = params, weight_decay, betas
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

    def step(self, grads: tuple, lr: float) -> None:
        import torch

        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        with torch.no_grad():
            for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                p.mul_(1 - lr * self.wd)
                p.addcdiv_(m / c1, (v / c2).sqrt_().add_(1e-8), value=-lr)
