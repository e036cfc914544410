"""Vanilla KD's constant temperature, as a drop-in temperature module."""
import torch

from ctkd_det.registry import MODELS
from .base_temperature import BaseTemperature


@MODELS.register_module()
class FixedTemperature(BaseTemperature):
    """Constant ``T = value`` for every row, ``(N, 1)``; no parameters.

    With this module ``KDTwoStageDetector`` is vanilla KD (Hinton et al.): the
    baseline shares all code with CTKD but the temperature module. Default
    ``value=1``: the detection recipe on RoI logits (configs/_base_/methods/kd.py).
    """

    def __init__(self, value: float = 1.0, init_cfg=None):
        value = float(value)
        if not value > 0:
            raise ValueError(f'FixedTemperature: value must be > 0, got {value}')
        super().__init__(init_cfg=init_cfg)
        self.value = value

    def compute(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        return student_logits.new_full((student_logits.size(0), 1), self.value)

    def extra_repr(self) -> str:
        return f'value={self.value}'
