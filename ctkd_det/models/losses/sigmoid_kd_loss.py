"""Temperature-scaled KD for sigmoid (per-class binary) classifiers, e.g. the
dense heads of RetinaNet, FCOS, ATSS and GFL, with one temperature per row."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from ctkd_det.registry import MODELS
from .kd_loss import check_logits, row_temperature
from .precision import float32_loss

__all__ = ['SigmoidKDLoss', 'LOCATION_WEIGHTS']


def uniform_weight(teacher_logits: torch.Tensor) -> torch.Tensor:
    """Every row (location) weighs 1: ``(N, 1)``."""
    return teacher_logits.new_ones(teacher_logits.size(0), 1)


def teacher_score_weight(teacher_logits: torch.Tensor) -> torch.Tensor:
    """The teacher's top class score at the row, ``max_c σ(t_c)`` ``(N, 1)``, at
    T = 1: locations where the teacher sees an object count, the (many) easy
    background locations hardly. Computed from the raw teacher logits, so the
    temperature cannot change which locations count."""
    return torch.sigmoid(teacher_logits.detach()).amax(dim=1, keepdim=True)


LOCATION_WEIGHTS = {'uniform': uniform_weight,
                    'teacher_score': teacher_score_weight}


@MODELS.register_module()
class SigmoidKDLoss(nn.Module):
    """Binary KD per class at temperature ``T_i``, weighted mean over rows::

        KD_i = T_i² · Σ_c [ p_ic log(p_ic / q_ic) + (1 - p_ic) log((1 - p_ic) / (1 - q_ic)) ]
        loss = loss_weight · Σ_i w_i KD_i / Σ_i w_i

    with ``p = σ(t / T_i)`` (teacher), ``q = σ(s / T_i)`` (student): the KL of
    the independent per-class Bernoulli distributions a sigmoid classifier
    (focal / quality-focal loss, ``use_sigmoid=True``) predicts; there is no
    background column (background = every class off). Computed stably as
    ``softplus(s/T) - softplus(t/T) - p · (s/T - t/T)`` per class.

    Rows are locations (anchors / points of all FPN levels, all images). Which
    count and how much is ``location_weight``:

    * ``'teacher_score'`` (default): ``w_i = max_c σ(t_ic)`` at T = 1, the
      teacher's confidence that something is there (as LD / BCKD weight
      their dense KD by the teacher's scores); with the normalisation by
      ``Σ w_i`` the loss is a weighted mean over locations;
    * ``'uniform'``: ``w_i = 1``, the plain mean over all locations.

    Weights carry no gradient. Teacher logits are detached; the temperature
    keeps its graph (CTKD learns T through the gradient reversal). The forward
    runs in float32 under autocast (:func:`float32_loss`).

    Args:
        loss_weight: multiplier of the loss.
        location_weight: ``'teacher_score'`` or ``'uniform'`` (see above).

    Forward args:
        student_logits: ``(N, C)`` (C classes, no background column).
        teacher_logits: ``(N, C)``.
        temperature: ``(N, 1)`` (or ``(N,)``, or a scalar tensor / float), > 0.
        labels: unused (no per-location labels); accepted for the detectors'
            common call.
    Returns: a scalar tensor; 0 (with a graph to the student logits and the
    temperature) when ``N == 0``.
    """

    activation = 'sigmoid'  # what the distilled head applies to its logits

    def __init__(self, loss_weight: float = 1.0,
                 location_weight: str = 'teacher_score'):
        super().__init__()
        if not loss_weight >= 0:
            raise ValueError(
                f'SigmoidKDLoss: loss_weight must be >= 0, got {loss_weight}')
        if location_weight not in LOCATION_WEIGHTS:
            raise ValueError(
                f'SigmoidKDLoss: location_weight must be one of '
                f'{sorted(LOCATION_WEIGHTS)}, got {location_weight!r}')
        self.loss_weight = float(loss_weight)
        self.location_weight = location_weight

    @float32_loss
    def forward(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                temperature, labels=None) -> torch.Tensor:
        check_logits(student_logits, teacher_logits, 'SigmoidKDLoss')
        if student_logits.dim() != 2:
            raise ValueError('SigmoidKDLoss: logits must be (N, C), got '
                             f'{tuple(student_logits.shape)}')
        t = row_temperature(temperature, student_logits, 'SigmoidKDLoss')
        if student_logits.size(0) == 0:
            return student_logits.sum() * 0. + t.sum() * 0.
        z_s = student_logits / t
        z_t = teacher_logits.detach() / t
        p_t = torch.sigmoid(z_t)
        kl = F.softplus(z_s) - F.softplus(z_t) - p_t * (z_s - z_t)  # (N, C)
        rows = kl.sum(dim=1, keepdim=True) * t.pow(2)  # (N, 1)
        w = LOCATION_WEIGHTS[self.location_weight](teacher_logits)
        total = w.sum().clamp(min=torch.finfo(w.dtype).tiny)
        return self.loss_weight * (w * rows).sum() / total

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, '
                f'location_weight={self.location_weight!r}')
