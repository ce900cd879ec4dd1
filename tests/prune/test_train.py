"""The pruning loop's scoring: as ``ofa-edge eval`` scores a network, handed back ready to train."""

from __future__ import annotations

import copy

import pytest
import torch

from ofa_edge.data import load_dataset
from ofa_edge.data.sample import SAMPLE_ROOT
from ofa_edge.data.transforms import Preprocess
from ofa_edge.prune.train import evaluate


def _eager_top1(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, prep: Preprocess) -> float:
    with torch.no_grad():
        logits = torch.cat([model.eval()(x) for x in prep.chunks(images, 64)])
    return 100.0 * float((logits.argmax(1) == labels).float().mean())


@pytest.mark.parametrize("images", [200, 1000])  # eager PyTorch in channels_last, ONNX Runtime
def test_evaluate_scores_as_eval_does_and_hands_back_nchw_weights(ofa_subnet, images: int) -> None:
    model, cfg = ofa_subnet
    model = copy.deepcopy(model)
    space = cfg.search_space
    test = load_dataset(SAMPLE_ROOT, "test", limit=images, seed=0, size=max(space.resolutions))
    prep = Preprocess(cfg.resolution, space.mean, space.std)
    expected = _eager_top1(model, test.images, test.labels, prep)

    top1 = evaluate(model, test, space, cfg.resolution)

    assert abs(top1 - expected) <= 100 / images  # one image either way: float sums in another order
    assert not model.training
    assert all(p.is_contiguous() for p in model.parameters())  # what slimming and training's views take
