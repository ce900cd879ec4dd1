"""Channel-flow analysis: spaces are tied where the network forces it; unknown ops are refused."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ofa_edge.errors import UserError
from ofa_edge.prune.graph import trace_channel_spaces


def _space_with(spaces, param_name, dim=0):
    hits = [s for s in spaces if any(sl.name == param_name and sl.dim == dim for sl in s.slices)]
    assert len(hits) == 1, param_name
    return hits[0]


def test_residual_and_gate_tie_channels(tiny_resnet: nn.Module) -> None:
    spaces = trace_channel_spaces(tiny_resnet, torch.randn(1, 3, 8, 8))
    stage = _space_with(spaces, "conv1.weight")
    # The residual add ties conv1's and conv2's outputs; the gate multiplies into the same space.
    assert stage is _space_with(spaces, "conv2.weight") is _space_with(spaces, "gate.weight")
    names = {(sl.name, sl.dim, sl.primary) for sl in stage.slices}
    assert ("fc.weight", 1, True) not in names and ("fc.weight", 1, False) in names
    # sigmoid(0) != 0: the gate's output is not zero when pruned, but it is multiplied by a
    # channel of the same space that is, so no reading column needs to be primary.
    assert ("conv2.weight", 1, False) in names
    assert {s.fixed for s in spaces} >= {"network input", "network output"}


def test_depthwise_tied_to_producer_and_sigmoid_input_made_primary() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 6, 1, bias=False),
        nn.BatchNorm2d(6),
        nn.Sigmoid(),
        nn.Conv2d(6, 6, 3, padding=1, groups=6),
        nn.Conv2d(6, 4, 1),
    )
    spaces = trace_channel_spaces(net, torch.randn(1, 3, 8, 8))
    s = _space_with(spaces, "0.weight")
    assert s is _space_with(spaces, "3.weight") and s.size == 6
    # sigmoid(0) = 0.5 reaches the depthwise conv; its filter is in the group (primary), so
    # the channel is zero after it and the next 1x1 conv's column need not be.
    assert ("4.weight", 1, False) in {(sl.name, sl.dim, sl.primary) for sl in s.slices}


def test_flatten_before_linear_repeats_columns() -> None:
    net = nn.Sequential(nn.Conv2d(3, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 4 * 4, 2))
    spaces = trace_channel_spaces(net, torch.randn(1, 3, 6, 6))
    sl = next(sl for sl in _space_with(spaces, "0.weight").slices if sl.name == "3.weight")
    assert (sl.dim, sl.repeat) == (1, 16)


class _Cat(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.a(x), x], 1)


@pytest.mark.parametrize(
    ("net", "op"),
    [
        (nn.Sequential(nn.Conv2d(3, 4, 1), nn.GroupNorm(2, 4)), "GroupNorm"),
        (_Cat(), "cat"),
        (nn.Sequential(nn.Conv2d(3, 8, 1), nn.Conv2d(8, 8, 3, groups=2)), "groups=2"),
        (nn.Sequential(nn.Conv2d(3, 8, 1), nn.Softmax(dim=1)), "Softmax"),
    ],
)
def test_unknown_op_is_refused_with_its_name(net: nn.Module, op: str) -> None:
    with pytest.raises(UserError, match=op):
        trace_channel_spaces(net, torch.randn(1, 3, 8, 8))


@pytest.mark.parametrize(
    ("example", "message"),
    [
        (torch.randn(3, 8, 8), r"shape \(3, 8, 8\).*4-D float image batch.*example\[None\]"),
        (torch.zeros(1, 3, 8, 8, dtype=torch.long), "torch.int64.*4-D float image batch"),
        ([1.0, 2.0], "a list, not a torch.Tensor"),
        (torch.randn(1, 4, 8, 8), r"does not run on the example of shape \(1, 4, 8, 8\).*4 channels"),
    ],
)
def test_a_wrong_example_is_named_before_tracing(tiny_resnet: nn.Module, example, message: str) -> None:
    """A 3-D example gave torch.fx's raw 'ShapeProp error for: node=...'."""
    with pytest.raises(UserError, match=message):
        trace_channel_spaces(tiny_resnet, example)
