"""Channel re-ordering keeps the max net's function and moves optimizer state with the weights."""

from __future__ import annotations

import torch

from ofa_edge.space import SearchSpace
from ofa_edge.supernet import Supernet
from ofa_edge.train.reorder import reorder_channels

SPACE = SearchSpace.get("mbv3-w1.0-cifar")


def _net() -> Supernet:
    torch.manual_seed(0)
    net = Supernet(SPACE, 10)
    g = torch.Generator().manual_seed(1)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net.eval()


def test_max_net_output_unchanged_and_channels_sorted() -> None:
    net = _net()
    x = torch.randn(2, 3, 32, 32)
    net.set_max()
    with torch.no_grad():
        before = net(x)
        net.set_min()
        min_before = net(resize := x[..., :24, :24])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for p in net.parameters():
        opt.state[p]["momentum_buffer"] = p.detach().clone()
    reorder_channels(net, opt)
    net.set_max()
    with torch.no_grad():
        torch.testing.assert_close(net(x), before, rtol=1e-4, atol=1e-5)
        net.set_min()
        assert not torch.allclose(net(resize), min_before)
    for blk in net.blocks:
        imp = blk.proj.weight.abs().sum((0, 2, 3))
        assert (imp[:-1] >= imp[1:]).all()
    for p in net.parameters():  # momentum was permuted exactly like its parameter
        torch.testing.assert_close(opt.state[p]["momentum_buffer"], p.detach())
