"""CTKD's instance-wise temperature: a small MLP predicts one T per RoI."""
from typing import Sequence

import torch
import torch.nn as nn

from ctkd_det.registry import MODELS
from .base_temperature import LearnableTemperature
from .gradient_reversal import grad_reverse


@MODELS.register_module()
class InstanceTemperature(LearnableTemperature):
    """MLP on ``cat(teacher_logits, student_logits)`` ``(N, 2C)`` → T ``(N, 1)``.

    The logits enter detached: the temperature module learns from the KD loss
    through T only, and never pushes gradients into the student's or the teacher's
    logits. The MLP output passes the gradient reversal and is squashed into
    ``[t_min, t_max]``. The last layer's bias starts at ``init_value`` with zero
    weights, so every RoI starts at the same T as :class:`GlobalTemperature`.

    Args:
        num_classes: C, the number of columns of the logits (for Faster R-CNN's RoI
            head: foreground classes + 1 background).
        hidden_dims: widths of the hidden layers.
    """

    def __init__(self, num_classes: int, hidden_dims: Sequence[int] = (256, 128),
                 t_min: float = 1.0, t_max: float = 21.0,
                 init_value: float = 1.0, init_cfg=None):
        super().__init__(t_min=t_min, t_max=t_max, init_cfg=init_cfg)
        if int(num_classes) <= 0:
            raise ValueError(f'num_classes must be > 0, got {num_classes}')
        self.num_classes = int(num_classes)
        layers, in_dim = [], 2 * self.num_classes
        for width in hidden_dims:
            layers += [nn.Linear(in_dim, int(width)), nn.ReLU(inplace=True)]
            in_dim = int(width)
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(in_dim, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.constant_(self.head.bias, float(init_value))

    def compute(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        if teacher_logits.size(1) != self.num_classes:
            raise ValueError(
                f'InstanceTemperature was built for {self.num_classes} logit '
                f'columns, got {teacher_logits.size(1)}')
        x = torch.cat([teacher_logits.detach(), student_logits.detach()], dim=1)
        x = self.head(self.mlp(x.to(self.head.weight.dtype)))
        t = self.squash(grad_reverse(x, self.lambda_))
        return t.to(student_logits.dtype)
