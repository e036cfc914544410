"""Gradient reversal: the adversarial link between student and temperature."""
import torch


class GradientReversal(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by ``-lambda_`` backward.

    Placed between the temperature parameters and the KD loss, it makes the
    temperature module *ascend* the loss the student *descends* (CTKD, Li et al. 2023).
    ``lambda_`` is a python float (no gradient flows to it).

    Usage: ``y = GradientReversal.apply(x, lambda_)``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = float(lambda_)
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.lambda_ * grad_output, None


def grad_reverse(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    """Functional form of :class:`GradientReversal`."""
    return GradientReversal.apply(x, lambda_)
