"""Logit distillation for one-stage (dense) detectors, with a pluggable
temperature module."""
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.detectors import SingleStageDetector
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ctkd_det.models.temperature import RLTemperature
from ctkd_det.registry import MODELS
from .dense_layout import (check_same_level_shapes, check_single_stage_teacher,
                           cls_logit_rows, dense_layout)
from .distillation_mixin import DistillationMixin
from .teacher import resolve_teacher


@contextmanager
def first_forward_output(module: nn.Module) -> Iterator[List]:
    """Record the output of ``module``'s first forward inside the context
    (``out[0]``; ``out`` stays empty if it did not run); the hook is removed on
    exit, whatever happens."""
    out: List = []

    def hook(mod, args, output):
        if not out:
            out.append(output)

    handle = module.register_forward_hook(hook)
    try:
        yield out
    finally:
        handle.remove()


@MODELS.register_module()
class KDSingleStageDetector(DistillationMixin, SingleStageDetector):
    """A one-stage detector (the student: RetinaNet, FCOS, ATSS, GFL, ... any
    ``SingleStageDetector`` whose ``bbox_head`` is an mmdet dense head)
    distilled from a frozen one-stage teacher on the dense head's
    per-location class logits, with the KD temperature given by a temperature
    module.

    In :meth:`loss` the student runs mmdet's own ``bbox_head.loss`` (its
    losses are unchanged); the head's forward output is recorded on the way,
    so nothing runs twice. Its class logits, per level ``(B, A·C, H, W)``
    (``A`` anchors / points per cell, ``C`` = ``cls_out_channels``; for GFL
    the quality-focal joint class-quality score, for FCOS / ATSS the class
    branch without centerness), and the teacher's for the same (normalised
    for it, ``teacher_input_converter``) inputs are flattened over images,
    levels, cells and anchors to rows ``(N, C)`` (:func:`cls_logit_rows`);
    the temperature module gives ``T`` ``(N, 1)`` (or a scalar) from
    ``(teacher_rows, student_rows)``, and ``distill_loss`` is added as
    ``loss_kd`` with the temperatures logged as ``kd_temp``, ``kd_temp_p10``,
    ``kd_temp_p90`` (as :class:`KDTwoStageDetector`). Non-finite logits skip
    the term (counted in ``kd_skipped_steps``).

    The loss form follows the student's head, checked at build: a sigmoid
    classifier (``use_sigmoid_cls``, i.e. ``loss_cls.use_sigmoid=True``: focal
    / quality-focal loss, C = classes) needs a loss with ``activation =
    'sigmoid'`` (:class:`SigmoidKDLoss`, the default: per-class binary KL,
    teacher-score weighted mean over locations); a softmax classifier (C =
    classes + 1, background last) one with ``activation = 'softmax'``
    (:class:`KDLoss`: mean over locations). Anything else is a ``ValueError``.

    The teacher must align location by location (``ValueError`` at build,
    :func:`check_single_stage_teacher`): a one-stage detector with the
    student's classes, logit columns and classifier, strides / number of
    levels, and anchors (shapes) or points per location. Its feature sizes
    are checked at every step. A temperature module with ``num_classes``
    (``InstanceTemperature``) must have ``C`` of them; ``RLTemperature``
    (which learns from RoI records) is refused.

    The teacher is not a submodule (see :class:`DistillationMixin`): absent
    from ``state_dict``, ``parameters()`` and ``init_weights``, frozen, in
    eval mode, follows ``.to()``. Prediction uses the student only, so the
    student part of a checkpoint (keys other than ``temperature.*``) loads
    strictly into the plain mmdet detector (``RetinaNet``, ``GFL``...).
    The ``CurriculumTemperatureHook`` sets λ on ``temperature`` as for the
    two-stage detector.

    Args:
        backbone, neck, bbox_head, train_cfg, test_cfg, data_preprocessor,
            init_cfg: the student, as for ``SingleStageDetector``.
        teacher_config: teacher config: file path, ``mmdet::`` path, config
            or model dict.
        temperature: temperature module config, e.g.
            ``dict(type='GlobalTemperature')``.
        teacher_ckpt: teacher weights (path or URL); ``None`` keeps the
            teacher's initialisation (tests only).
        distill_loss: KD loss config, default ``dict(type='SigmoidKDLoss')``.
        eval_teacher: keep the teacher in eval mode while the student trains.
        teacher_cache_mb: memory (MiB) for the teacher's features per image
            (:class:`TeacherFeatureCache`); 0: none.
    """

    def __init__(self,
                 backbone: ConfigType,
                 bbox_head: ConfigType,
                 teacher_config: Union[ConfigType, str, Path],
                 temperature: ConfigType,
                 teacher_ckpt: Optional[str] = None,
                 distill_loss: ConfigType = dict(type='SigmoidKDLoss'),
                 eval_teacher: bool = True,
                 teacher_cache_mb: float = 0,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        # Validate everything cheap before building anything heavy.
        teacher_model_cfg = resolve_teacher(teacher_config, teacher_ckpt)
        super().__init__(
            backbone=backbone, neck=neck, bbox_head=bbox_head,
            train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student_layout = dense_layout(self.bbox_head,
                                           'the student\'s bbox_head')
        self.init_distillation(teacher_model_cfg, teacher_ckpt, temperature,
                               distill_loss, eval_teacher, teacher_cache_mb)

    # -- build-time checks ------------------------------------------------------
    def check_teacher(self, teacher: nn.Module) -> None:
        """Raise ``ValueError`` if ``teacher``'s dense head does not align with
        the student's (called by ``build_teacher`` before its weights load)."""
        check_single_stage_teacher(teacher, self.student_layout)

    def check_distill_loss(self, loss: nn.Module) -> None:
        """The loss must distil the classifier the student's head has."""
        head = self.student_layout
        needed = 'sigmoid' if head.use_sigmoid_cls else 'softmax'
        form = getattr(loss, 'activation', None)
        if form == needed:
            return
        what = (f'a sigmoid classifier (use_sigmoid_cls=True: '
                f'{head.cls_out_channels} class columns, no background)'
                if head.use_sigmoid_cls else
                f'a softmax classifier (use_sigmoid_cls=False: '
                f'{head.cls_out_channels} columns, background last)')
        fix = ('SigmoidKDLoss' if head.use_sigmoid_cls else 'KDLoss')
        got = (f'{type(loss).__name__}, which declares no activation'
               if form is None else f'{type(loss).__name__} ({form})')
        raise ValueError(
            f'the student\'s bbox_head ({type(self.bbox_head).__name__}) is '
            f'{what}: distill_loss must be a {needed} KD loss such as {fix}, '
            f'got {got}')

    def check_temperature(self, temperature: nn.Module) -> None:
        """Per-row temperature modules must fit the logit rows."""
        if isinstance(temperature, RLTemperature):
            raise ValueError(
                'RLTemperature learns from the sampled RoIs of a two-stage '
                'detector (RLTemperatureHook); KDSingleStageDetector does not '
                'support it')
        columns = getattr(temperature, 'num_classes', None)
        if columns is not None and columns != self.student_layout.cls_out_channels:
            raise ValueError(
                f'{type(temperature).__name__}.num_classes is the number of '
                f'logit columns: {self.student_layout.cls_out_channels} for '
                f'this student ({type(self.bbox_head).__name__}, cls_out_'
                f'channels), got {columns}')

    # -- distillation -----------------------------------------------------------
    @torch.no_grad()
    def teacher_cls_scores(self, batch_inputs: Tensor) -> Sequence[Tensor]:
        """The teacher head's per-level class logits ``(B, A·C, H, W)`` for the
        student's (normalised) inputs ``(B, 3, H_in, W_in)``."""
        return self.teacher.bbox_head(self.teacher_features(batch_inputs))[0]

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        x = self.extract_feat(batch_inputs)
        with first_forward_output(self.bbox_head) as out:
            losses = self.bbox_head.loss(x, batch_data_samples)
        if not out:
            raise RuntimeError(
                f'the student bbox_head ({type(self.bbox_head).__name__}) did '
                'not run its forward in loss(): its class logits cannot be '
                'recorded')
        student_scores = out[0][0]
        teacher_scores = self.teacher_cls_scores(batch_inputs)
        check_same_level_shapes(student_scores, teacher_scores)
        columns = self.student_layout.cls_out_channels
        losses.update(self.kd_losses(cls_logit_rows(student_scores, columns),
                                     cls_logit_rows(teacher_scores, columns)))
        return losses
