"""The cost ledger: 3x forward MACs per trained subnet-image, 1x per teacher image, levers' savings."""

import pytest

from ofa_edge.space import CostModel, SearchSpace
from ofa_edge.train.ledger import Ledger

SPACE = SearchSpace.get("mbv3-w1.0-cifar")
COST = CostModel(SPACE, 10)


def test_a_step_counts_three_forwards_per_subnet_image_and_one_per_teacher_image() -> None:
    lo, hi = SPACE.min(), SPACE.max()
    macs = COST.macs([lo, hi])
    ledger = Ledger("cpu")
    ledger.add_step(COST, [hi, lo], batch=32, teacher=hi)
    assert ledger.train_flops == pytest.approx(3 * (macs[0] + macs[1]) * 32)
    assert ledger.teacher_flops == pytest.approx(macs[1] * 32)
    assert ledger.total_flops == pytest.approx(ledger.train_flops + ledger.teacher_flops)
    assert (ledger.images, ledger.subnet_images, ledger.steps) == (32, 64, 1)


def test_computed_flops_take_off_what_the_levers_saved_inside_steps_but_not_sieving() -> None:
    ledger = Ledger("cpu", train_flops=1000.0, saved_flops={"sparsity": 300.0, "freezing": 100.0, "sieving": 50.0})
    assert ledger.computed_flops == 600.0
    assert ledger.to_dict()["computed_flops"] == 600.0


def test_a_resumed_ledger_keeps_its_counts_and_names_each_device_once() -> None:
    ledger = Ledger("cpu", wall_seconds=2.5, images=64, steps=2, saved_flops={"sparsity": 1.0})
    moved = Ledger.from_dict(ledger.to_dict(), "NVIDIA H100")
    assert moved.device == "cpu + NVIDIA H100"
    assert (moved.wall_seconds, moved.images, moved.steps, moved.saved_flops) == (2.5, 64, 2, {"sparsity": 1.0})
    assert Ledger.from_dict(moved.to_dict(), "NVIDIA H100").device == "cpu + NVIDIA H100"
    assert Ledger.from_dict(moved.to_dict(), "cpu").device == "cpu + NVIDIA H100"
