"""KD terms in float32 under mixed precision (mmengine's ``AmpOptimWrapper``).

Softmax of fp16/bf16 logits at T ≈ 15 and ``T² · KL`` lose precision or
overflow, so a KD loss runs its forward outside autocast with its floating
tensor arguments cast to float32 (gradients flow back through the cast to the
fp16/bf16 logits and to the temperature module).
"""
import functools

import torch

__all__ = ['float32_loss', 'to_float32']


def to_float32(x):
    """``x`` as float32 if it is a floating tensor of lower precision, else ``x``."""
    if isinstance(x, torch.Tensor) and x.is_floating_point() and \
            x.dtype != torch.float64 and x.dtype != torch.float32:
        return x.float()
    return x


def float32_loss(forward):
    """Decorate a loss ``forward(self, *tensors, **kwargs)``: autocast off for
    the device of its first tensor argument, floating arguments in float32."""

    @functools.wraps(forward)
    def wrapped(self, *args, **kwargs):
        args = tuple(to_float32(a) for a in args)
        kwargs = {k: to_float32(v) for k, v in kwargs.items()}
        device = next((a.device.type for a in (*args, *kwargs.values())
                       if isinstance(a, torch.Tensor)), 'cpu')
        with torch.autocast(device_type=device, enabled=False):
            return forward(self, *args, **kwargs)

    return wrapped
