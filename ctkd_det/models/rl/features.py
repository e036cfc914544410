"""Per-instance state and quality for the RLKD temperature agent.

State (Zhang et al. 2024, "Instance Temperature Knowledge Distillation", §3.2):
for every instance (here: every RoI the student's RoI head sampled) three numbers
from the ``T = 1`` softmaxes of the ``(N, C)`` logits (for Faster R-CNN ``C`` =
foreground classes + background):

* the student's top-1 probability (its confidence),
* the teacher's top-1 probability (how sure the teacher is),
* the student's margin between its top-1 and top-2 probabilities (its
  uncertainty). The authors' code takes the *second smallest* probability here
  (an ascending sort indexed at 1); we use the true top-2.

Quality (our detection version of the paper's "efficient exploration": the agent
first learns from high-quality instances): see :func:`instance_quality`.
"""
from typing import Optional

import torch
import torch.nn.functional as F

STATE_DIM = 3


@torch.no_grad()
def instance_state(teacher_logits: torch.Tensor,
                   student_logits: torch.Tensor) -> torch.Tensor:
    """``(N, 3)`` float32: ``[p_s top-1, p_t top-1, p_s top-1 - p_s top-2]``.

    Computed without gradient, in float32 whatever the logits' dtype. With a single
    logit column the margin is the top-1 probability (there is no top-2: 0).
    """
    if teacher_logits.shape != student_logits.shape or teacher_logits.dim() != 2:
        raise ValueError(
            'instance_state: teacher and student logits must both be (N, C), got '
            f'{tuple(teacher_logits.shape)} and {tuple(student_logits.shape)}')
    p_s = F.softmax(student_logits.detach().float(), dim=1)
    p_t = F.softmax(teacher_logits.detach().float(), dim=1)
    k = min(2, p_s.size(1))
    top_s = p_s.topk(k, dim=1).values  # descending: [top-1, top-2]
    second = top_s[:, 1] if k == 2 else torch.zeros_like(top_s[:, 0])
    return torch.stack(
        [top_s[:, 0], p_t.max(dim=1).values, top_s[:, 0] - second], dim=1)


@torch.no_grad()
def instance_quality(teacher_logits: torch.Tensor,
                     labels: Optional[torch.Tensor] = None,
                     ious: Optional[torch.Tensor] = None,
                     background_weight: float = 0.5) -> torch.Tensor:
    """``(N,)`` score in ``[0, 1]``: how trustworthy an RoI is as a lesson.

    With the RoI head's targets (``labels`` ``(N,)``, background = ``C - 1``, the
    last logit column; ``ious`` ``(N,)``, the IoU of a positive RoI with its
    assigned ground truth):

    * foreground RoI: ``IoU * p_t(label)`` — well localised *and* the teacher
      agrees with the ground truth;
    * background RoI: ``background_weight * p_t(background)``.

    So a confident, well-assigned foreground RoI ranks first, a background RoI the
    teacher is sure about next, and RoIs where the teacher contradicts the
    assignment last. Without targets: the teacher's top-1 probability.
    """
    p_t = F.softmax(teacher_logits.detach().float(), dim=1)
    if labels is None:
        return p_t.max(dim=1).values
    labels = labels.long().to(p_t.device)
    if labels.shape != (p_t.size(0), ):
        raise ValueError(f'instance_quality: labels must be ({p_t.size(0)},), got '
                         f'{tuple(labels.shape)}')
    p_label = p_t.gather(1, labels.clamp(0, p_t.size(1) - 1)[:, None])[:, 0]
    fg = labels < p_t.size(1) - 1
    if ious is None:
        loc = torch.ones_like(p_label)
    else:
        loc = ious.float().to(p_t.device).clamp(0, 1)
    return torch.where(fg, loc * p_label, float(background_weight) * p_label)
