"""Where a dense (one-stage) head's class logits sit, and whether a teacher's
sit at the same places: distilling them location by location needs the same
rows and columns on both sides."""
from dataclasses import dataclass, fields
from typing import List, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['DenseLayout', 'dense_layout', 'check_single_stage_teacher',
           'check_same_level_shapes', 'cls_logit_rows']


@dataclass(frozen=True)
class DenseLayout:
    """The layout of a dense head's class logits, ``(B, A·C, H, W)`` per level.

    ``strides``: per level, the feature stride ``(w, h)``; ``priors_per_location``:
    per level, ``A`` (anchors or points per feature-map cell); ``priors``: the
    prior generator's shapes (base anchors per level, or the point offset);
    ``cls_out_channels``: ``C``, the logit columns (``num_classes``, plus one
    background column for a softmax head).
    """
    num_classes: int
    cls_out_channels: int
    use_sigmoid_cls: bool
    prior_generator: str
    strides: Tuple
    priors_per_location: Tuple
    priors: Tuple


# what each field means, for the error messages
_MEANING = dict(
    num_classes='num_classes', cls_out_channels='cls_out_channels (logit columns)',
    use_sigmoid_cls='use_sigmoid_cls (sigmoid or softmax classifier)',
    prior_generator='prior generator type', strides='strides per level',
    priors_per_location='anchors/points per location, per level',
    priors='anchor shapes per level / point offset')

REQUIRED = ('num_classes', 'cls_out_channels', 'use_sigmoid_cls',
            'prior_generator')


def _priors(generator) -> Tuple:
    """The generator's prior shapes: base anchors per level (rounded to 1e-3
    px), or the point offset of a point generator."""
    if hasattr(generator, 'base_anchors'):
        return tuple(tuple(tuple(round(float(v), 3) for v in anchor)
                           for anchor in level.tolist())
                     for level in generator.base_anchors)
    if hasattr(generator, 'offset'):
        return ('offset', float(generator.offset))
    return ()


def dense_layout(head: nn.Module, owner: str = 'the head') -> DenseLayout:
    """The :class:`DenseLayout` of an mmdet dense head (``AnchorHead``,
    ``AnchorFreeHead`` and their subclasses: RetinaNet, FCOS, ATSS, GFL...).
    ``ValueError`` (naming ``owner``) for a head without per-location class
    logits and a prior generator."""
    missing = [name for name in REQUIRED if not hasattr(head, name)]
    if missing:
        raise ValueError(
            f'{owner} ({type(head).__name__}) is not a dense head with '
            f'per-location class logits: it has no {", ".join(missing)} '
            '(needed: num_classes, cls_out_channels, use_sigmoid_cls and a '
            'prior_generator, as AnchorHead / AnchorFreeHead have)')
    gen = head.prior_generator
    return DenseLayout(
        num_classes=int(head.num_classes),
        cls_out_channels=int(head.cls_out_channels),
        use_sigmoid_cls=bool(head.use_sigmoid_cls),
        prior_generator=type(gen).__name__,
        strides=tuple(tuple(int(v) for v in s) for s in gen.strides),
        priors_per_location=tuple(int(n) for n in gen.num_base_priors),
        priors=_priors(gen))


def check_single_stage_teacher(teacher: nn.Module,
                               student: DenseLayout) -> None:
    """A teacher for dense-logit distillation: a one-stage detector whose
    ``bbox_head`` has the student's layout (same classes and columns, same
    classifier, same strides and number of levels, same anchors / points per
    location). ``ValueError`` listing every difference otherwise."""
    head = getattr(teacher, 'bbox_head', None)
    if head is None:
        raise ValueError(
            'the teacher must be a one-stage detector with a dense bbox_head '
            f'(RetinaNet, FCOS, ATSS, GFL...), got {type(teacher).__name__}')
    layout = dense_layout(head, 'the teacher\'s bbox_head')
    diffs = [f'{_MEANING[f.name]}: teacher {getattr(layout, f.name)}, '
             f'student {getattr(student, f.name)}'
             for f in fields(DenseLayout)
             if getattr(layout, f.name) != getattr(student, f.name)]
    if diffs:
        raise ValueError(
            'the teacher\'s dense head does not align with the student\'s '
            'location by location (logits are distilled row by row): '
            + '; '.join(diffs))


def check_same_level_shapes(student: Sequence[Tensor],
                            teacher: Sequence[Tensor]) -> None:
    """Per-level class logits ``(B, A·C, H, W)`` of student and teacher must
    have the same shapes (same levels, feature sizes and columns); the build
    checks cannot see the feature maps' sizes (e.g. a neck with another
    ``start_level``)."""
    s_shapes = [tuple(x.shape) for x in student]
    t_shapes = [tuple(x.shape) for x in teacher]
    if s_shapes != t_shapes:
        raise ValueError(
            'student and teacher class logits differ in shape per level '
            f'(B, A*C, H, W): student {s_shapes}, teacher {t_shapes}; their '
            'necks must give the same levels at the same strides')


def cls_logit_rows(cls_scores: Sequence[Tensor],
                   cls_out_channels: int) -> Tensor:
    """Per-level class logits ``(B, A·C, H, W)`` → rows ``(N, C)``, one per
    image, level, cell and anchor (image-major, then level, then mmdet's own
    ``permute(0, 2, 3, 1).reshape(-1, C)`` order within a level)."""
    rows: List[Tensor] = [
        x.permute(0, 2, 3, 1).reshape(x.size(0), -1, cls_out_channels)
        for x in cls_scores]
    return torch.cat(rows, dim=1).reshape(-1, cls_out_channels)
