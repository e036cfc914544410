"""Decoupled KD (DKD, Zhao et al. CVPR 2022) on RoI logits, with one temperature
per row so that any temperature module (fixed, CTKD, RLKD) can drive it."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ctkd_det.registry import MODELS
from .kd_loss import check_labels, check_logits, row_temperature
from .precision import float32_loss


def _binary_and_other_log_probs(z: torch.Tensor, target: torch.Tensor):
    """For scaled logits ``z`` ``(N, K)`` and a target mask ``(N, K)`` (one True
    per row): ``log b`` ``(N, 2)`` = log(target prob, 1 - target prob) of
    ``softmax(z)``, and ``log n`` ``(N, K - 1)`` = log-softmax over the non-target
    columns (in column order). Both from log-sum-exps: no ``log(0)``."""
    n, k = z.shape
    z_target = z[target].reshape(n, 1)
    z_other = z[~target].reshape(n, k - 1)
    lse_other = torch.logsumexp(z_other, dim=1, keepdim=True)
    lse_all = torch.logaddexp(z_target, lse_other)
    log_b = torch.cat([z_target, lse_other], dim=1) - lse_all
    log_n = F.log_softmax(z_other, dim=1)
    return log_b, log_n


def _kl_rows(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    """``KL(p ‖ q)`` per row, ``(N, K)`` log-probabilities → ``(N, 1)``."""
    return (log_p.exp() * (log_p - log_q)).sum(dim=1, keepdim=True)


@MODELS.register_module()
class DKDLoss(nn.Module):
    """Decoupled KD on RoI classification logits::

        mean_i  alpha · T_i² · KL(b_t ‖ b_s)  +  beta · T_i² · KL(n_t ‖ n_s)

    For RoI ``i`` with label ``y_i`` and ``p = softmax(logits_i / T_i)``:
    ``b = (p_y, 1 - p_y)`` (target-class KD, TCKD) and ``n = softmax`` over the
    non-target columns of ``logits_i / T_i`` (non-target KD, NCKD). The background
    is a class like any other: a background RoI (label ``C``, the last column) has
    the background column as its target, as in mdistiller's detection DKD.

    Vanilla KD decomposes as ``KL(p_t ‖ p_s) = KL(b_t ‖ b_s) + (1 - p_t,y) ·
    KL(n_t ‖ n_s)``; DKD re-weights the two parts with ``alpha``/``beta``. In
    particular with a single class (``C + 1 = 2`` columns) ``n`` has one column,
    its KL is 0, ``b`` is ``p`` itself, and DKD with ``alpha = 1`` equals
    :class:`KDLoss` at the same T (for any ``beta``).

    Teacher logits are detached; the temperature keeps its graph (CTKD learns T
    through the gradient reversal). mdistiller's detection recipe uses ``T = 1``
    (a ``FixedTemperature(1.0)``), ``alpha = 1``, ``beta = 0.25``.

    Args:
        alpha: weight of the target-class part (TCKD).
        beta: weight of the non-target part (NCKD).
        loss_weight: multiplier of the loss.

    Forward args:
        student_logits: ``(N, C + 1)``, at least 2 columns.
        teacher_logits: ``(N, C + 1)``.
        temperature: ``(N, 1)`` (or ``(N,)``, or a scalar tensor / float), > 0.
        labels: ``(N,)`` integers in ``[0, C]`` (``C`` = background), e.g. the
            student's sampled RoI labels.
    Returns: a scalar tensor (float32 unless the inputs are float64); 0 (with
    a graph to the student logits and the temperature) when ``N == 0``.

    Precision: computed in float32 with autocast off (``float32_loss``), as
    :class:`KDLoss`: fp16/bf16 logits and T (mixed precision) are cast up first;
    gradients flow back to them through the cast. float64 inputs stay float64.
    """

    activation = 'softmax'  # what the distilled head applies to its logits

    def __init__(self, alpha: float = 1.0, beta: float = 0.25,
                 loss_weight: float = 1.0):
        super().__init__()
        for name, value in (('alpha', alpha), ('beta', beta),
                            ('loss_weight', loss_weight)):
            if not value >= 0:
                raise ValueError(f'DKDLoss: {name} must be >= 0, got {value}')
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.loss_weight = float(loss_weight)

    @float32_loss
    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                temperature, labels: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        check_logits(student_logits, teacher_logits, 'DKDLoss')
        if student_logits.dim() != 2 or student_logits.size(1) < 2:
            raise ValueError(
                'DKDLoss: logits must be (N, C + 1) with at least 2 columns, got '
                f'{tuple(student_logits.shape)}')
        labels = check_labels(labels, student_logits, 'DKDLoss')
        t = row_temperature(temperature, student_logits, 'DKDLoss')
        if student_logits.size(0) == 0:
            return student_logits.sum() * 0. + t.sum() * 0.
        target = F.one_hot(labels, student_logits.size(1)).bool()
        log_b_s, log_n_s = _binary_and_other_log_probs(student_logits / t, target)
        log_b_t, log_n_t = _binary_and_other_log_probs(
            teacher_logits.detach() / t, target)
        rows = (self.alpha * _kl_rows(log_b_t, log_b_s) +
                self.beta * _kl_rows(log_n_t, log_n_s)) * t.pow(2)
        return self.loss_weight * rows.mean()

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, beta={self.beta}, '
                f'loss_weight={self.loss_weight}')
