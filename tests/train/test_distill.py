"""KD targets are detached: no gradient flows into the teacher's output."""

from __future__ import annotations

import pytest
import torch

from ofa_edge.train.distill import kd_loss, soft_targets


def test_kd_gradient_reaches_only_the_student() -> None:
    torch.manual_seed(0)
    teacher = torch.randn(8, 10, requires_grad=True)
    student = torch.randn(8, 10, requires_grad=True)
    kd_loss(student, soft_targets(teacher, 2.0), 2.0).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_kd_refuses_targets_that_carry_gradient() -> None:
    t = torch.softmax(torch.randn(4, 10, requires_grad=True), 1)
    with pytest.raises(ValueError, match="detached"):
        kd_loss(torch.randn(4, 10), t, 1.0)


def test_kd_matches_soft_cross_entropy_times_t2() -> None:
    torch.manual_seed(1)
    s, t, temp = torch.randn(5, 10), torch.randn(5, 10), 3.0
    want = -(torch.softmax(t / temp, 1) * torch.log_softmax(s / temp, 1)).sum(1).mean() * temp**2
    assert kd_loss(s, soft_targets(t, temp), temp).item() == pytest.approx(want.item(), rel=1e-6)
