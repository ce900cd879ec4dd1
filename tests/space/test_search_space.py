"""SearchSpace: the registry, OFA's MobileNetV3 layout, subnet count and describe()."""

from __future__ import annotations

import numpy as np
import pytest

from ofa_edge.errors import UserError
from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.space.search_space import make_divisible, value_set


def test_registry_has_cifar_and_imagenet_variants() -> None:
    names = SearchSpace.names()
    assert {"mbv3-w1.0-cifar", "mbv3-w1.0-imagenet", "mbv3-w1.2-cifar", "mbv3-w1.2-imagenet"} <= set(names)
    assert SearchSpace.get("mbv3-w1.0-imagenet").resolutions == (128, 144, 160, 176, 192, 208, 224)
    assert 32 in SearchSpace.get("mbv3-w1.0-cifar").resolutions


def test_unknown_space_names_it_and_suggests() -> None:
    with pytest.raises(UserError, match=r"unknown search space 'mbv3-w1.0-cifr'.*Did you mean 'mbv3-w1.0-cifar'"):
        SearchSpace.get("mbv3-w1.0-cifr")
    with pytest.raises(UserError, match="Known spaces: mbv3-w1.0-cifar"):
        SearchSpace.get("resnet50")


def test_a_space_shows_its_choices_as_a_set_not_a_range() -> None:
    """`ofa-edge space` showed CIFAR's 24, 28 and 32 px as '24-32', read as every size between."""
    assert value_set((24, 28, 32)) == "24, 28, 32"
    assert value_set((3, 4, 6)) == "3, 4, 6"
    assert value_set((128, 144, 160, 176, 192, 208, 224)) == "128-224 (step 16)"
    assert value_set((1, 2, 4, 8)) == "1, 2, 4, 8"  # not evenly spaced: every value
    assert value_set((32,)) == "32"


def test_values_outside_a_space_are_said_with_the_space_and_its_values() -> None:
    cifar = SearchSpace.get("mbv3-w1.0-cifar")
    assert cifar.not_in_space("resolution", [30]) == "30 is not in space mbv3-w1.0-cifar (24, 28, 32)"
    assert cifar.not_in_space("kernel", [1, 9]) == "1, 9 are not in space mbv3-w1.0-cifar (3, 5, 7)"


def test_ofa_mobilenetv3_layout() -> None:
    """OFA's ofa_mbv3_d234_e346_k357: widths, strides, activations, SE placement."""
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    assert [s.width for s in sp.stages] == [24, 40, 80, 112, 160]
    assert [s.stride for s in sp.stages] == [2, 2, 2, 1, 2]
    assert [s.act for s in sp.stages] == ["relu", "relu", "hswish", "hswish", "hswish"]
    assert [s.se for s in sp.stages] == [False, True, False, True, True]
    assert (sp.stem_width, sp.final_expand_width, sp.last_width, sp.stem_stride) == (16, 960, 1280, 2)
    assert sp.final_hw(224) == 7 and sp.final_hw(128) == 4
    w12 = SearchSpace.get("mbv3-w1.2-imagenet")
    assert [s.width for s in w12.stages] == [32, 48, 96, 136, 192]
    assert (w12.stem_width, w12.final_expand_width, w12.last_width) == (24, 1152, 1536)
    cifar = SearchSpace.get("mbv3-w1.0-cifar")
    assert cifar.stem_stride == 1 and cifar.final_hw(32) == 4


def test_make_divisible_matches_ofa_rounding() -> None:
    values = (16 * 1.2, 24 * 1.2, 112 * 1.2, 16 * 3, 24 * 6, 40 * 4)
    assert [make_divisible(v) for v in values] == [24, 32, 136, 48, 144, 160]


def test_block_geometry() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    first = sp.block_shape(224, 0, 7, 6)
    assert (first.in_hw, first.in_ch, first.out_ch, first.mid_ch) == (112, 16, 24, 96)
    assert first.stride == 2 and not first.residual
    second = sp.block_shape(224, 1, 3, 4)
    assert (second.in_hw, second.in_ch, second.mid_ch, second.stride, second.residual) == (56, 24, 96, 1, True)
    se = sp.block_shape(224, 4, 5, 3)  # stage 2 has SE
    assert se.se and se.se_ch == make_divisible(se.mid_ch // 4)
    assert se.key() == "mb-i56x56x24-o40-m72-k5-s2-se1-relu-id0"
    assert sp.block_shape(224, 12, 3, 3).stride == 1  # stage 3 keeps resolution


def test_num_subnets_counts_distinct_networks() -> None:
    sp = SearchSpace.get("mbv3-w1.0-imagenet")
    per_stage = 9**2 + 9**3 + 9**4  # blocks beyond a stage's depth do not count
    assert sp.num_subnets == per_stage**5 * 7
    assert 2e19 < sp.num_subnets / 7 < 2.3e19  # OFA's "more than 10^19 sub-networks"


def test_samples_min_max_mutate_crossover_are_valid() -> None:
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    rng = np.random.default_rng(0)
    a, b = sp.sample(rng), sp.sample(rng)
    assert sp.mutate(a, rng, prob=0.0) == a
    child = sp.crossover(a, b, rng)
    for field in ("depth", "kernel", "expand"):
        for i, v in enumerate(getattr(child, field)):
            assert v in (getattr(a, field)[i], getattr(b, field)[i])
    assert sp.max().depth == (4,) * 5 and sp.min().kernel == (3,) * 20
    assert sp.max(resolution=24).resolution == 24


@pytest.mark.parametrize("name", ["mbv3-w1.0-cifar", "mbv3-w1.0-imagenet"])
def test_describe_reports_size_and_cost_range(name: str) -> None:
    sp = SearchSpace.get(name)
    d = sp.describe()
    cost = CostModel(sp, d["num_classes_assumed"])
    assert d["num_subnets"] == sp.num_subnets
    assert d["macs_range"] == [int(cost.macs([sp.min()])[0]), int(cost.macs([sp.max()])[0])]
    assert d["params_range"] == [int(cost.params([sp.min()])[0]), int(cost.params([sp.max()])[0])]
    # min and max bound every subnet
    g = np.random.default_rng(0)
    macs = cost.macs([sp.sample(g) for _ in range(300)])
    assert d["macs_range"][0] <= macs.min() and macs.max() <= d["macs_range"][1]
    extra = (100 - d["num_classes_assumed"]) * (sp.last_width + 1)  # classifier weights + biases
    assert sp.describe(num_classes=100)["params_range"][1] - d["params_range"][1] == extra


@pytest.mark.parametrize("name", [None, 3, ["mbv3-w1.0-cifar"]])
def test_a_name_that_is_no_string_is_a_user_error(name) -> None:
    with pytest.raises(UserError, match="must be a string"):
        SearchSpace.get(name)


def test_config_operations_refuse_wrong_arguments_naming_the_fix() -> None:
    cifar, imagenet = SearchSpace.get("mbv3-w1.0-cifar"), SearchSpace.get("mbv3-w1.0-imagenet")
    rng = np.random.default_rng(0)
    a, other = cifar.sample(rng), imagenet.sample(rng)
    with pytest.raises(UserError, match=r"default_rng\(seed\)"):
        cifar.sample(0)
    with pytest.raises(UserError, match="space 'mbv3-w1.0-imagenet', not 'mbv3-w1.0-cifar'"):
        cifar.mutate(other, rng)
    with pytest.raises(UserError, match="space 'mbv3-w1.0-imagenet'"):
        cifar.crossover(a, other, rng)
    with pytest.raises(UserError, match="expected a SubnetConfig, got dict"):
        cifar.mutate(a.to_dict(), rng)
    with pytest.raises(UserError, match=r"in \[0, 1\]"):
        cifar.mutate(a, rng, prob=2.0)
    assert cifar.mutate(a, np.random.default_rng(1), prob=np.float32(0.5)) == cifar.mutate(
        a, np.random.default_rng(1), prob=0.5
    )
    with pytest.raises(UserError, match="default_rng"):
        cifar.crossover(a, a, None)


def test_max_and_min_refuse_resolution_zero_instead_of_ignoring_it() -> None:
    sp = SearchSpace.get("mbv3-w1.0-cifar")
    with pytest.raises(UserError, match="resolution"):
        sp.max(0)
    with pytest.raises(UserError, match="resolution"):
        sp.min(0)
    assert sp.max().resolution == 32 and sp.min().resolution == 24
