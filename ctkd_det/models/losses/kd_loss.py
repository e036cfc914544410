"""Temperature-scaled KL distillation loss with one temperature per row."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ctkd_det.registry import MODELS


@MODELS.register_module()
class KDLoss(nn.Module):
    """``mean_i T_i² · KL(softmax(t_i / T_i) ‖ softmax(s_i / T_i))``.

    The T² factor keeps the gradient magnitude comparable across temperatures
    (Hinton et al.). Teacher logits are detached; the temperature keeps its graph,
    so a learnable temperature module receives ∂loss/∂T.

    Args:
        loss_weight: multiplier of the loss.

    Forward args:
        student_logits: ``(N, C)``.
        teacher_logits: ``(N, C)``.
        temperature: ``(N, 1)`` (or ``(N,)``, or a scalar tensor / float).
    Returns: a scalar tensor; 0 (with a graph to the student) when ``N == 0``.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        if not loss_weight >= 0:
            raise ValueError(f'KDLoss: loss_weight must be >= 0, got {loss_weight}')
        self.loss_weight = float(loss_weight)

    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                temperature) -> torch.Tensor:
        if student_logits.shape != teacher_logits.shape:
            raise ValueError(
                f'KDLoss: student logits {tuple(student_logits.shape)} and '
                f'teacher logits {tuple(teacher_logits.shape)} differ in shape')
        if student_logits.size(0) == 0:
            return student_logits.sum() * 0.
        t = torch.as_tensor(temperature, dtype=student_logits.dtype,
                            device=student_logits.device)
        t = t.reshape(-1, 1) if t.dim() > 0 else t.reshape(1, 1)
        log_p_s = F.log_softmax(student_logits / t, dim=1)
        log_p_t = F.log_softmax(teacher_logits.detach() / t, dim=1)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1, keepdim=True)
        return self.loss_weight * (kl * t.pow(2)).mean()
