"""The bbox stages of an mmdet RoI head, read the same way for single-stage and
cascade heads.

A ``StandardRoIHead`` (Faster / Mask R-CNN) has one bbox stage:
``bbox_roi_extractor`` and ``bbox_head`` are modules and ``_bbox_forward(x, rois)``
runs them. A ``CascadeRoIHead`` has ``num_stages``: both are ``ModuleList``\\ s,
``_bbox_forward(stage, x, rois)`` runs stage ``stage``, the stage losses are
weighted by ``stage_loss_weights`` and named ``s{stage}.<loss>``. Distillation
(recorder, teacher check, KD detector) goes through these functions so that it
has one code path for both.
"""
from typing import List, Tuple

import torch.nn as nn
from torch import Tensor

__all__ = ['is_multi_stage', 'bbox_stages', 'num_bbox_stages',
           'stage_classes', 'stage_loss_weights', 'stage_prefix',
           'stage_bbox_forward']


def is_multi_stage(roi_head: nn.Module) -> bool:
    """Whether the head keeps one bbox head per stage (a cascade)."""
    return isinstance(getattr(roi_head, 'bbox_head', None), nn.ModuleList)


def bbox_stages(roi_head: nn.Module) -> List[Tuple[nn.Module, nn.Module]]:
    """``(bbox_roi_extractor, bbox_head)`` of every stage, in stage order."""
    if is_multi_stage(roi_head):
        return list(zip(roi_head.bbox_roi_extractor, roi_head.bbox_head))
    return [(roi_head.bbox_roi_extractor, roi_head.bbox_head)]


def num_bbox_stages(roi_head: nn.Module) -> int:
    return len(bbox_stages(roi_head))


def stage_classes(roi_head: nn.Module) -> List[int]:
    """``num_classes`` of every stage's bbox head."""
    return [head.num_classes for _, head in bbox_stages(roi_head)]


def stage_loss_weights(roi_head: nn.Module) -> List[float]:
    """mmdet's weight of each stage's losses (``[1.0]`` for a single stage)."""
    if is_multi_stage(roi_head):
        return [float(w) for w in roi_head.stage_loss_weights]
    return [1.0]


def stage_prefix(roi_head: nn.Module, stage: int) -> str:
    """The prefix mmdet gives a stage's loss names: ``''`` for a single stage,
    ``'s{stage}.'`` in a cascade (``s0.loss_cls``, ``s1.acc``, ...)."""
    return f's{stage}.' if is_multi_stage(roi_head) else ''


def stage_bbox_forward(roi_head: nn.Module, stage: int, x: Tuple[Tensor],
                       rois: Tensor) -> dict:
    """The head's own ``_bbox_forward`` of ``stage`` on ``rois`` ``(R, 5)``:
    ``cls_score`` ``(R, C + 1)``, ``bbox_pred``, ``bbox_feats``."""
    if is_multi_stage(roi_head):
        return roi_head._bbox_forward(stage, x, rois)
    if stage != 0:
        raise IndexError(f'{type(roi_head).__name__} has one bbox stage, '
                         f'got stage {stage}')
    return roi_head._bbox_forward(x, rois)
