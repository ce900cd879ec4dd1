"""Tensor-level preprocessing that runs on whatever device holds the batch."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F


def fast_memory_format(device: torch.device | str) -> torch.memory_format:
    """The memory format these networks run fastest in on ``device``'s kind: channels_last on the
    CPU (oneDNN; measured 1.5-1.9x NCHW's speed for fp32 MobileNetV3 training and inference),
    NCHW elsewhere (cuDNN's usual fp32 path)."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


@functools.lru_cache(maxsize=16)
def _channel_constants(
    mean: tuple[float, ...], std: tuple[float, ...], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``mean`` and ``std`` as ``(1, C, 1, 1)`` tensors on ``device``, made once: building them per
    batch copies from host memory, which on CUDA waits for the GPU (a sync every training step)."""
    m = torch.tensor(mean, device=device, dtype=torch.float32).view(1, -1, 1, 1)
    s = torch.tensor(std, device=device, dtype=torch.float32).view(1, -1, 1, 1)
    return m, s


def normalize(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 ``(N, 3, H, W)`` -> float32 normalised with per-channel ``mean``/``std`` (0..1 scale)."""
    m, s = _channel_constants(tuple(mean), tuple(std), images.device)
    return (images.float() / 255.0 - m) / s


def resize(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """Bilinear resize of a float batch to ``resolution`` (no-op when it already matches)."""
    if images.shape[-1] == resolution and images.shape[-2] == resolution:
        return images
    return F.interpolate(images, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True)


@dataclass(frozen=True)
class Preprocess:
    """What a network expects of a uint8 batch: normalised with ``mean``/``std``, resized to
    ``resolution`` (the formula an export bundle's ``preprocessing.json`` states)."""

    resolution: int
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_dict(cls, doc: dict) -> Preprocess:
        """From a ``preprocessing`` record (``resolution``, ``mean``, ``std``; other keys ignored)."""
        return cls(int(doc["resolution"]), tuple(doc["mean"]), tuple(doc["std"]))

    def to_dict(self) -> dict:
        return {"resolution": self.resolution, "mean": list(self.mean), "std": list(self.std)}

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return resize(normalize(images, self.mean, self.std), self.resolution)

    def chunks(self, images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
        """The preprocessed batches of ``images``, ``batch_size`` at a time (bounded memory)."""
        for chunk in torch.split(images, batch_size):
            yield self(chunk)

    def all(self, images: torch.Tensor, batch_size: int = 100) -> torch.Tensor:
        """All of ``images`` preprocessed, in ``batch_size`` pieces."""
        return torch.cat(list(self.chunks(images, batch_size)))


def augment(images: torch.Tensor, generator: torch.Generator, pad: int | None = None) -> torch.Tensor:
    """Random crop with zero padding and horizontal flip of a uint8 batch, on its own device.

    One gather for the whole batch: no per-image Python loop. ``pad`` defaults to size/8.
    """
    n, _, h, w = images.shape
    pad = max(1, h // 8) if pad is None else pad
    padded = F.pad(images, (pad, pad, pad, pad))
    dev = images.device
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev)
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=dev)
    flip = torch.rand(n, generator=generator, device=dev) < 0.5
    cols = torch.arange(w, device=dev)
    cols = torch.where(flip[:, None], w - 1 - cols, cols) + ox[:, None]
    rows = torch.arange(h, device=dev) + oy[:, None]
    idx_n = torch.arange(n, device=dev)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]]  # (n, h, w, c)
    return out.permute(0, 3, 1, 2)
