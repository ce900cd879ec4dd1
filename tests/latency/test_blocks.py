"""Keys parse back into the modules they name."""

from __future__ import annotations

import torch

from ofa_edge.latency.blocks import build_for_key, build_subnet, parse_block_key, random_subnets
from ofa_edge.latency.keys import required_keys
from ofa_edge.space import CostModel, SearchSpace


def test_every_block_key_round_trips_to_its_shape():
    space = SearchSpace.get("mbv3-w1.0-imagenet")
    for shapes in space.all_block_shapes().values():
        for s in shapes:
            assert parse_block_key(s.key()) == s


def test_modules_for_keys_run_and_match_analytic_params():
    space = SearchSpace.get("mbv3-w1.0-cifar")
    for key in required_keys(space, [24], 10)[::7]:
        module, shape = build_for_key(key)
        with torch.no_grad():
            module(torch.randn(1, *shape))
        if key.startswith("mb-"):
            assert sum(p.numel() for p in module.parameters()) == parse_block_key(key).params()


def test_subnet_from_shapes_has_the_analytic_parameter_count():
    space = SearchSpace.get("mbv3-w1.0-cifar")
    cost = CostModel(space, 10)
    for cfg in random_subnets(space.name, [28], 3, seed=0):
        net = build_subnet(cfg, 10)
        assert sum(p.numel() for p in net.parameters()) == cost.params([cfg])[0]
        assert net(torch.randn(1, 3, 28, 28)).shape == (1, 10)


def test_random_subnets_respect_the_table_resolutions():
    cfgs = random_subnets("mbv3-w1.0-cifar", [24, 32], 50, seed=1)
    assert {c.resolution for c in cfgs} == {24, 32}
    assert cfgs == random_subnets("mbv3-w1.0-cifar", [24, 32], 50, seed=1)
