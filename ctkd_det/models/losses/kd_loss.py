"""Temperature-scaled KL distillation loss with one temperature per row, and its
foreground/background-decoupled form (DeFeat's RoI-head KD)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from ctkd_det.registry import MODELS
from .precision import float32_loss


def row_temperature(temperature, logits: torch.Tensor,
                    owner: str) -> torch.Tensor:
    """``temperature`` as ``(N, 1)`` or ``(1, 1)`` in the dtype/device of ``logits``
    ``(N, C)``; keeps its graph. Accepts a float, a 0-dim tensor, ``(1,)``,
    ``(1, 1)``, ``(N,)`` or ``(N, 1)``; anything else raises ``ValueError``."""
    t = torch.as_tensor(temperature, dtype=logits.dtype, device=logits.device)
    n = logits.size(0)
    if t.dim() == 0 or tuple(t.shape) in ((1,), (1, 1)):
        return t.reshape(1, 1)
    if tuple(t.shape) in ((n,), (n, 1)):
        return t.reshape(-1, 1)
    raise ValueError(
        f'{owner}: temperature must be a scalar, (N,) or (N, 1) with N = {n} '
        f'rows, got shape {tuple(t.shape)}')


def check_labels(labels, logits: torch.Tensor, owner: str) -> torch.Tensor:
    """Validate RoI labels ``(N,)`` in ``[0, C - 1]`` for logits ``(N, C)`` (the
    background is the last column, label ``C - 1``); returns them as int64."""
    if labels is None:
        raise ValueError(f'{owner}: labels (N,) are required')
    labels = torch.as_tensor(labels, device=logits.device)
    if labels.dtype.is_floating_point or labels.dtype.is_complex or \
            labels.dtype == torch.bool:
        raise ValueError(f'{owner}: labels must be integers, got {labels.dtype}')
    if tuple(labels.shape) != (logits.size(0),):
        raise ValueError(
            f'{owner}: labels must have shape ({logits.size(0)},) (one per row '
            f'of the logits), got {tuple(labels.shape)}')
    num_cols = logits.size(1)
    if labels.numel() and bool(((labels < 0) | (labels >= num_cols)).any()):
        raise ValueError(
            f'{owner}: labels must lie in [0, {num_cols - 1}] (background = '
            f'{num_cols - 1}), got min {int(labels.min())}, max {int(labels.max())}')
    return labels.long()


def check_logits(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                 owner: str) -> None:
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(
            f'{owner}: student logits {tuple(student_logits.shape)} and '
            f'teacher logits {tuple(teacher_logits.shape)} differ in shape')


@MODELS.register_module()
class KDLoss(nn.Module):
    """``mean_i T_i² · KL(softmax(t_i / T_i) ‖ softmax(s_i / T_i))``.

    The T² factor keeps the gradient magnitude comparable across temperatures
    (Hinton et al.). Teacher logits are detached; the temperature keeps its graph,
    so a learnable temperature module receives ∂loss/∂T.

    Foreground/background-decoupled form (DeFeat, Guo et al. CVPR 2021, RoI head):
    with ``fg_weight`` and ``bg_weight`` set, rows are split by their RoI label
    (foreground: ``label < C - 1``; background: ``label == C - 1``, the last
    column) and the loss is::

        loss_weight * (fg_weight * mean_{i in fg} KD_i + bg_weight * mean_{i in bg} KD_i)

    with ``KD_i = T_i² · KL(...)`` as above; each mean is over its own group's rows,
    and an empty group contributes 0. With both weights ``None`` (default) labels
    are ignored and the loss is the plain mean over all rows.

    Args:
        loss_weight: multiplier of the loss.
        fg_weight, bg_weight: group weights of the decoupled form; set both or
            neither.

    Forward args:
        student_logits: ``(N, C)``.
        teacher_logits: ``(N, C)``.
        temperature: ``(N, 1)`` (or ``(N,)``, or a scalar tensor / float).
        labels: ``(N,)`` integers in ``[0, C - 1]``; required by the decoupled
            form, ignored otherwise.
    Returns: a scalar tensor (float32 unless the inputs are float64); 0 (with
    a graph to the student) when ``N == 0``.

    Precision: computed in float32 with autocast off (``float32_loss``), whatever
    the logits' dtype: under mixed precision (mmengine's ``AmpOptimWrapper``) the
    fp16/bf16 logits and T are cast up first (softmax at T ≈ 15 and ``T² · KL``
    lose precision or overflow in fp16); gradients flow back to them through the
    cast. float64 inputs stay float64.
    """

    activation = 'softmax'  # what the distilled head applies to its logits

    def __init__(self, loss_weight: float = 1.0,
                 fg_weight: Optional[float] = None,
                 bg_weight: Optional[float] = None):
        super().__init__()
        if not loss_weight >= 0:
            raise ValueError(f'KDLoss: loss_weight must be >= 0, got {loss_weight}')
        if (fg_weight is None) != (bg_weight is None):
            raise ValueError(
                'KDLoss: set both fg_weight and bg_weight (decoupled fg/bg KD) or '
                f'neither, got fg_weight={fg_weight}, bg_weight={bg_weight}')
        if fg_weight is not None and not (fg_weight >= 0 and bg_weight >= 0):
            raise ValueError('KDLoss: fg_weight and bg_weight must be >= 0, got '
                             f'{fg_weight}, {bg_weight}')
        self.loss_weight = float(loss_weight)
        self.fg_weight = None if fg_weight is None else float(fg_weight)
        self.bg_weight = None if bg_weight is None else float(bg_weight)

    @property
    def decoupled(self) -> bool:
        """Whether the fg/bg-decoupled form (which needs labels) is used."""
        return self.fg_weight is not None

    @float32_loss
    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                temperature, labels: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        check_logits(student_logits, teacher_logits, 'KDLoss')
        if self.decoupled:
            if labels is None:
                raise ValueError(
                    'KDLoss: fg_weight/bg_weight are set (decoupled fg/bg KD), so '
                    'labels (N,) are required')
            labels = check_labels(labels, student_logits, 'KDLoss')
        if student_logits.size(0) == 0:
            return student_logits.sum() * 0.
        t = row_temperature(temperature, student_logits, 'KDLoss')
        log_p_s = F.log_softmax(student_logits / t, dim=1)
        log_p_t = F.log_softmax(teacher_logits.detach() / t, dim=1)
        kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1, keepdim=True)
        rows = kl * t.pow(2)
        if not self.decoupled:
            return self.loss_weight * rows.mean()
        rows = rows.flatten()
        fg = labels < student_logits.size(1) - 1
        bg = ~fg
        # sum / max(count, 1): an empty group gives 0 (no host sync)
        fg_mean = rows[fg].sum() / fg.sum().clamp(min=1)
        bg_mean = rows[bg].sum() / bg.sum().clamp(min=1)
        return self.loss_weight * (self.fg_weight * fg_mean +
                                   self.bg_weight * bg_mean)
