"""Tensor transforms: seeded on-device augmentation and the preprocessing every stage shares."""

from __future__ import annotations

import json

import torch

from ofa_edge.data.transforms import Preprocess, augment


def test_augment_crops_and_flips_exactly() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).reshape(2, 3, 8, 8).to(torch.uint8)
    g = torch.Generator().manual_seed(0)
    y = augment(x, g, pad=0)  # no padding: each image is itself or its mirror
    for i in range(2):
        assert torch.equal(y[i], x[i]) or torch.equal(y[i], x[i].flip(-1))
    y1, y2 = augment(x, torch.Generator().manual_seed(5), pad=2), augment(x, torch.Generator().manual_seed(5), pad=2)
    assert torch.equal(y1, y2) and y1.shape == x.shape
    # every output row is a (possibly mirrored, shifted) row of the zero-padded input
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    rows = {tuple(r.tolist()) for r in padded[0, 0]}
    for r in y1[0, 0]:
        assert any(tuple(r.tolist()) in {row[o : o + 8], row[::-1][o : o + 8]} for row in rows for o in range(5))


def test_preprocess_normalises_resizes_and_round_trips() -> None:
    x = torch.full((3, 3, 32, 32), 255, dtype=torch.uint8)
    x[:, 1] = 0
    prep = Preprocess(24, (0.5, 0.25, 0.5), (0.5, 0.25, 0.25))
    y = prep(x)
    assert y.shape == (3, 3, 24, 24) and y.dtype == torch.float32
    # (1 - 0.5) / 0.5, (0 - 0.25) / 0.25, (1 - 0.5) / 0.25: a constant image stays constant under resizing
    for c, want in enumerate((1.0, -1.0, 2.0)):
        torch.testing.assert_close(y[:, c], torch.full((3, 24, 24), want))
    assert torch.equal(prep.all(x, batch_size=2), y)
    assert Preprocess.from_dict(json.loads(json.dumps({**prep.to_dict(), "layout": "NCHW"}))) == prep
