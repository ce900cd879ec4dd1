"""Losses: label-smoothed cross-entropy and knowledge distillation from detached soft targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_targets(teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Softmax of ``teacher_logits / T``, detached: no gradient ever flows into the teacher."""
    return F.softmax(teacher_logits.detach().float() / temperature, dim=1)


def kd_loss(student_logits: torch.Tensor, targets: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of the student at temperature ``T`` against soft ``targets``, scaled by T².

    The T² factor keeps gradient magnitudes comparable across temperatures (Hinton et al.).
    """
    if targets.requires_grad:
        raise ValueError("KD targets must be detached (use soft_targets)")
    log_p = F.log_softmax(student_logits.float() / temperature, dim=1)
    return -(targets * log_p).sum(1).mean() * temperature**2


def ce_loss(logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    """Cross-entropy with label smoothing, computed in float32 (also under bf16 autocast)."""
    return F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
