"""Common bases of the temperature modules."""
import torch
from mmengine.model import BaseModule

from ctkd_det.models.losses.precision import float32_loss
from .bounds import check_bounds, squash


class BaseTemperature(BaseModule):
    """A temperature module maps ``(teacher_logits, student_logits)``, both ``(N, C)``,
    to one temperature per row, ``(N, 1)``.

    Subclasses implement :meth:`compute`; :meth:`forward` (not to be overridden)
    checks the shapes and runs it in float32: under mixed precision (mmengine's
    ``AmpOptimWrapper``) the logits arrive in fp16/bf16, but ``compute`` sees them
    cast to float32 with autocast off, so an MLP temperature runs in float32 and
    every module returns a float32 T (a bf16 T ≈ 15.6 would carry only ~0.06
    resolution into the KD loss). float64 logits stay float64.

    ``lambda_`` is the gradient-reversal scale. It is a plain attribute (not a
    parameter, not in the state dict) that :class:`CurriculumTemperatureHook` sets
    before each epoch/iteration; it is 0 until the hook runs, so a module used
    outside a curriculum receives no gradient.
    """

    def __init__(self, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.lambda_ = 0.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if 'forward' in cls.__dict__:
            raise TypeError(
                f'{cls.__name__}: a temperature module implements compute(), '
                'not forward() (BaseTemperature.forward runs it in float32)')

    @float32_loss
    def forward(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        """``(N, C)``, ``(N, C)`` logits (any floating dtype, under autocast or
        not) → T ``(N, 1)`` in float32 (float64 for float64 logits)."""
        self.check_logits(teacher_logits, student_logits)
        return self.compute(teacher_logits, student_logits)

    def compute(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        """T ``(N, 1)`` for checked, float32 logits ``(N, C)`` (autocast off)."""
        raise NotImplementedError

    @staticmethod
    def check_logits(teacher_logits: torch.Tensor,
                     student_logits: torch.Tensor) -> None:
        if teacher_logits.shape != student_logits.shape or \
                teacher_logits.dim() != 2:
            raise ValueError(
                'teacher and student logits must both be (N, C) of the same '
                f'shape, got {tuple(teacher_logits.shape)} and '
                f'{tuple(student_logits.shape)}')


class LearnableTemperature(BaseTemperature):
    """Base of learned temperatures, squashed into ``[t_min, t_max]`` with
    ``t_min + (t_max - t_min) * sigmoid(x)`` (see ``bounds.py``)."""

    def __init__(self, t_min: float = 1.0, t_max: float = 21.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.t_min, self.t_max = check_bounds(t_min, t_max, type(self).__name__)

    def squash(self, x: torch.Tensor) -> torch.Tensor:
        """Map an unbounded value to a temperature in ``[t_min, t_max]``."""
        return squash(x, self.t_min, self.t_max)

    def extra_repr(self) -> str:
        return f't_min={self.t_min}, t_max={self.t_max}, lambda_={self.lambda_}'
