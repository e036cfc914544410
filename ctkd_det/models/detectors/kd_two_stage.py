"""Logit distillation for two-stage detectors, with a pluggable temperature module."""
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ctkd_det.models.recorders import RoIRecord, RoIRecorder
from ctkd_det.models.temperature import build_temperature
from ctkd_det.registry import MODELS
from .distillation_mixin import DistillationMixin
from .teacher import (build_teacher, check_teacher_ckpt,
                      check_two_stage_teacher, load_teacher_config,
                      teacher_input_converter)


@MODELS.register_module()
class KDTwoStageDetector(DistillationMixin, TwoStageDetector):
    """A two-stage detector (the student) distilled from a frozen teacher on RoI
    classification logits, with the KD temperature given by a temperature module.

    In :meth:`loss` the student runs mmdet's own RPN and RoI-head losses; its
    :class:`RoIRecorder` records on the way the RoIs its RoI head sampled,
    ``(R, 5)``, its class scores for them, ``(R, C + 1)`` (background included),
    and their training labels and IoUs (so the student path is exactly mmdet's
    and nothing runs twice). The teacher then scores **the same RoIs** with its
    own features and RoI head, the temperature module gives ``T`` ``(R, 1)``, and
    ``distill_loss`` is added as ``loss_kd``. The step's record (without graph
    and RoI features) stays available as ``last_roi_record`` (e.g. for
    ``RLTemperatureHook``) until the next ``loss`` call.

    The teacher (built by ``teacher.py``) is not a submodule: it is absent from
    ``state_dict`` (checkpoints), ``parameters()`` (optimizer, DDP) and
    ``init_weights``, but follows ``.to()``, ``.cuda()`` etc. It is frozen and
    stays in eval mode (``eval_teacher=True``).
    Prediction uses the student only, so the student part of a checkpoint (keys
    other than ``temperature.*``) loads into a plain ``FasterRCNN``.

    The temperature module is a submodule (``temperature``): a learnable one is
    trained by the same optimizer, wrapped by DDP with the student, saved and
    resumed with it (``RLTemperature`` keeps its agent outside and trains it with
    its own optimizer from ``RLTemperatureHook``).

    Args:
        backbone, neck, rpn_head, roi_head, train_cfg, test_cfg,
            data_preprocessor, init_cfg: the student, as for ``TwoStageDetector``.
        teacher_config: teacher config: file path, ``mmdet::`` path, config
            or model dict.
        teacher_ckpt: teacher weights (path or URL); ``None`` keeps the teacher's
            initialisation (tests only).
        temperature: temperature module config, e.g. ``dict(type='GlobalTemperature')``.
        distill_loss: KD loss config, default ``dict(type='KDLoss')``.
        eval_teacher: keep the teacher in eval mode while the student trains.
    """

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 teacher_config: Union[ConfigType, str, Path],
                 temperature: ConfigType,
                 teacher_ckpt: Optional[str] = None,
                 distill_loss: ConfigType = dict(type='KDLoss'),
                 eval_teacher: bool = True,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        # Validate everything cheap before building anything heavy.
        teacher_model_cfg = load_teacher_config(teacher_config)
        if teacher_ckpt is not None:
            check_teacher_ckpt(str(teacher_ckpt))
        super().__init__(
            backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
            train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not (self.with_roi_head and self.roi_head.with_bbox):
            raise ValueError('KDTwoStageDetector needs a student roi_head with a '
                             'bbox head')

        # Building the teacher and the temperature module must not consume the
        # global RNG: the student then starts from the same weights as a plain
        # student with the same seed (paired comparisons across methods).
        with torch.random.fork_rng(devices=[]):
            teacher = build_teacher(teacher_model_cfg, teacher_ckpt,
                                    check=self.check_teacher)
            # Not registered as a submodule: see the class docstring.
            object.__setattr__(self, 'teacher', teacher)
            self.eval_teacher = eval_teacher
            self._teacher_input = teacher_input_converter(
                self.data_preprocessor, teacher.data_preprocessor)

            self.temperature = build_temperature(temperature)
        self.distill_loss = MODELS.build(distill_loss)
        self.kd_skipped_steps = 0
        self.roi_recorder = RoIRecorder()
        self.last_roi_record: Optional[RoIRecord] = None

    # -- teacher bookkeeping ------------------------------------------------
    def check_teacher(self, teacher: nn.Module) -> None:
        """Raise ``ValueError`` if ``teacher`` cannot score this student's RoIs
        (called by ``build_teacher`` before its weights are loaded)."""
        check_two_stage_teacher(teacher, self.roi_head.bbox_head.num_classes)

    # -- distillation ---------------------------------------------------------
    def student_kd_logits(self, record: RoIRecord) -> Tensor:
        """The student's class scores ``(R, C + 1)`` the KD term is computed on:
        those of its RoI head's own forward, so the KD gradient reaches the
        whole student."""
        return record.cls_score

    @torch.no_grad()
    def teacher_logits(self, batch_inputs: Tensor, rois: Tensor) -> Tensor:
        """Teacher class scores ``(R, C + 1)`` for the given RoIs ``(R, 5)``."""
        if self._teacher_input is not None:
            batch_inputs = self._teacher_input(batch_inputs)
        feats = self.teacher.extract_feat(batch_inputs)
        return self.teacher.roi_head._bbox_forward(feats, rois)['cls_score']

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        self.last_roi_record = None
        with self.roi_recorder.record(self.roi_head) as record:
            losses = super().loss(batch_inputs, batch_data_samples)
        if record.rois is None or record.cls_score is None:
            raise RuntimeError('the student RoI head did not run its bbox head')
        self.last_roi_record = record.detach()
        s_logits = self.student_kd_logits(record)
        t_logits = self.teacher_logits(batch_inputs, record.rois)
        losses.update(self.kd_losses(s_logits, t_logits, record.labels))
        return losses
