"""CTKD's global temperature: one learnable scalar for the whole batch."""
import torch
import torch.nn as nn

from ctkd_det.registry import MODELS
from .base_temperature import LearnableTemperature
from .gradient_reversal import grad_reverse


@MODELS.register_module()
class GlobalTemperature(LearnableTemperature):
    """One learnable scalar θ; ``T = t_min + (t_max - t_min) * sigmoid(θ)``.

    θ passes a gradient reversal (scale ``lambda_``) before the squash, so it
    ascends the KD loss. Defaults follow the authors' CTKD code: ``t_min=1``, a range
    of 20 (``t_max=21``) and θ initialised to 1 (T ≈ 15.6 at start).

    Args:
        t_min, t_max: temperature bounds, ``0 < t_min < t_max``.
        init_value: initial θ (pre-sigmoid), not the initial temperature.

    Returns (forward): ``(N, 1)`` — the same T for every row.
    """

    def __init__(self, t_min: float = 1.0, t_max: float = 21.0,
                 init_value: float = 1.0, init_cfg=None):
        super().__init__(t_min=t_min, t_max=t_max, init_cfg=init_cfg)
        self.theta = nn.Parameter(torch.tensor(float(init_value)))

    def compute(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        theta = grad_reverse(self.theta, self.lambda_)
        t = self.squash(theta)
        return t.to(student_logits.dtype).expand(student_logits.size(0), 1)
