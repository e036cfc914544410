"""The bounded temperature range ``[t_min, t_max]`` shared by every temperature
that is learned or chosen: a value ``u`` on the real line maps to

    T = t_min + (t_max - t_min) * sigmoid(u)

(the CTKD authors' bounding; RLKD's PPO acts on ``u``). Keeping ``t_min > 0``
keeps ``logits / T`` finite.
"""
import math
from typing import Tuple

import torch


def check_bounds(t_min: float, t_max: float, owner: str) -> Tuple[float, float]:
    """``(t_min, t_max)`` as floats; ``ValueError`` (naming ``owner``) unless
    ``0 < t_min < t_max``."""
    t_min, t_max = float(t_min), float(t_max)
    if not (0 < t_min < t_max):
        raise ValueError(
            f'{owner}: temperature bounds must satisfy 0 < t_min < t_max, got '
            f't_min={t_min}, t_max={t_max}')
    return t_min, t_max


def squash(u: torch.Tensor, t_min: float, t_max: float) -> torch.Tensor:
    """Unbounded ``u`` (any shape) -> temperature in ``[t_min, t_max]``."""
    return t_min + (t_max - t_min) * torch.sigmoid(u)


def unsquash(t: torch.Tensor, t_min: float, t_max: float,
             eps: float = 1e-6) -> torch.Tensor:
    """Inverse of :func:`squash` (clamped just inside the open interval)."""
    x = ((t - t_min) / (t_max - t_min)).clamp(eps, 1 - eps)
    return torch.log(x) - torch.log1p(-x)


def unsquash_value(t: float, t_min: float, t_max: float) -> float:
    """Inverse of :func:`squash` for a python float strictly inside
    ``(t_min, t_max)`` (e.g. an initial temperature -> initial ``u``)."""
    p = (t - t_min) / (t_max - t_min)
    return math.log(p) - math.log1p(-p)
