"""Logit distillation for two-stage detectors (Faster / Mask / Cascade R-CNN),
with a pluggable temperature module."""
from pathlib import Path
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ctkd_det.models.recorders import RoIRecord, RoIRecorder
from ctkd_det.models.utils.roi_stages import (num_bbox_stages,
                                              stage_bbox_forward,
                                              stage_classes,
                                              stage_loss_weights,
                                              stage_prefix)
from ctkd_det.registry import MODELS
from .distillation_mixin import DistillationMixin
from .teacher import check_two_stage_teacher, resolve_teacher


@MODELS.register_module()
class KDTwoStageDetector(DistillationMixin, TwoStageDetector):
    """A two-stage detector (the student) distilled from a frozen teacher on RoI
    classification logits, with the KD temperature given by a temperature module.

    In :meth:`loss` the student runs mmdet's own RPN and RoI-head losses; its
    :class:`RoIRecorder` records on the way, for every bbox stage of its RoI
    head, the RoIs the stage sampled, ``(R, 5)``, its class scores for them,
    ``(R, C + 1)`` (background included), and their training labels and IoUs
    (so the student path is exactly mmdet's and nothing runs twice). The
    teacher then scores **the same RoIs** with its own features and RoI head
    (its stage ``i`` bbox head for the student's stage ``i`` RoIs), the
    temperature module gives ``T`` ``(R, 1)``, and ``distill_loss`` is added.

    * Single-stage RoI heads (Faster R-CNN, Mask R-CNN: ``StandardRoIHead``;
      the mask branch trains as usual, KD is on the bbox classifier): the loss
      is ``loss_kd``, with the temperatures logged as ``kd_temp``,
      ``kd_temp_p10``, ``kd_temp_p90``.
    * Cascade RoI heads (``CascadeRoIHead``, Cascade R-CNN): one KD term per
      distilled stage (``kd_stages``), named as mmdet names its stage losses,
      ``s{i}.loss_kd`` (``s{i}.kd_temp`` ...), and weighted by the head's
      ``stage_loss_weights[i]``. Teacher and student must have the same number
      of stages (checked when the teacher is built). The one temperature module
      serves every stage: it is called once per stage on that stage's logits.

    The step's records (without graph and RoI features) stay available until
    the next ``loss`` call: ``last_roi_records``, one per bbox stage, and
    ``last_roi_record``, the rows the temperature module saw, in its call
    order: the distilled stages' records one after the other (the only
    stage's record for a single-stage head). ``RLTemperatureHook`` reads the
    latter, so RLKD's per-RoI temperatures also work on a cascade (its agent
    gets one batch of transitions per distilled stage, so its
    ``max_instances_per_step`` applies to each; ``acc_fg`` is over the
    foreground RoIs of all distilled stages).

    Teacher, temperature module and KD loss are built by
    :meth:`DistillationMixin.init_distillation` (without consuming the global
    RNG); :meth:`check_teacher` refuses a teacher that cannot score the
    student's RoIs, :meth:`check_distill_loss` a loss that is not a softmax
    one. Each stage's KD term is :meth:`DistillationMixin.kd_losses` (float32,
    non-finite logits skip it).

    The teacher (built by ``teacher.py``) is not a submodule: it is absent from
    ``state_dict`` (checkpoints), ``parameters()`` (optimizer, DDP) and
    ``init_weights``, but follows ``.to()``, ``.cuda()`` etc. It is frozen and
    stays in eval mode (``eval_teacher=True``).
    Prediction uses the student only, so the student part of a checkpoint (keys
    other than ``temperature.*``) loads into the plain mmdet detector
    (``FasterRCNN``, ``MaskRCNN``, ``CascadeRCNN``).

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
        distill_loss: KD loss config, default ``dict(type='KDLoss')``; a
            softmax loss (``activation = 'softmax'``, checked at build).
        eval_teacher: keep the teacher in eval mode while the student trains.
        kd_stages: the bbox stages distilled, e.g. ``[2]`` for a cascade's last
            stage; ``None``: all (the only one of a single-stage head).
        teacher_cache_mb: memory (MiB) for the teacher's features per image
            (:class:`TeacherFeatureCache`); 0: none. Worth it where an image
            gets the same input every epoch (fixed resize, no random flip).
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
                 kd_stages: Optional[Sequence[int]] = None,
                 teacher_cache_mb: float = 0,
                 neck: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        # Validate everything cheap before building anything heavy.
        teacher_model_cfg = resolve_teacher(teacher_config, teacher_ckpt)
        super().__init__(
            backbone=backbone, neck=neck, rpn_head=rpn_head, roi_head=roi_head,
            train_cfg=train_cfg, test_cfg=test_cfg,
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not (self.with_roi_head and self.roi_head.with_bbox):
            raise ValueError('KDTwoStageDetector needs a student roi_head with a '
                             'bbox head')
        self.kd_stages = self._check_kd_stages(kd_stages)

        self.init_distillation(teacher_model_cfg, teacher_ckpt, temperature,
                               distill_loss, eval_teacher, teacher_cache_mb)
        self.roi_recorder = RoIRecorder()
        self.last_roi_records: List[RoIRecord] = []
        self.last_roi_record: Optional[RoIRecord] = None

    def _check_kd_stages(self, kd_stages: Optional[Sequence[int]]) -> List[int]:
        """The distilled stages as a sorted list; ``ValueError`` for indices
        that are not stages of the student's RoI head."""
        n = num_bbox_stages(self.roi_head)
        if kd_stages is None:
            return list(range(n))
        stages = list(kd_stages) if isinstance(kd_stages, (list, tuple)) \
            else None
        if not stages or not all(isinstance(i, int) and not isinstance(i, bool)
                                 and 0 <= i < n for i in stages) \
                or len(set(stages)) != len(stages):
            raise ValueError(
                f'kd_stages must be None (all) or a non-empty list of distinct '
                f'bbox stages in [0, {n - 1}] of the student\'s '
                f'{type(self.roi_head).__name__} ({n} stage(s)), got '
                f'{kd_stages!r}')
        return sorted(stages)

    # -- teacher bookkeeping ------------------------------------------------
    def check_teacher(self, teacher: nn.Module) -> None:
        """Raise ``ValueError`` if ``teacher`` cannot score this student's RoIs
        (called by ``build_teacher`` before its weights are loaded): same
        number of bbox stages, same classes in each."""
        check_two_stage_teacher(teacher, stage_classes(self.roi_head))

    def check_distill_loss(self, loss: nn.Module) -> None:
        """RoI classifiers are softmax classifiers (``C + 1`` columns,
        background last): the loss must declare ``activation = 'softmax'``
        (``KDLoss``, ``DKDLoss``), as :class:`KDSingleStageDetector` checks
        its head's form."""
        form = getattr(loss, 'activation', None)
        if form == 'softmax':
            return
        got = (f'{type(loss).__name__}, which declares no activation'
               if form is None else f'{type(loss).__name__} ({form})')
        raise ValueError(
            f'the student\'s RoI bbox head ({type(self.roi_head).__name__}) is '
            'a softmax classifier (num_classes + 1 columns, background last): '
            'distill_loss must be a softmax KD loss such as KDLoss or DKDLoss, '
            f'got {got}')

    # -- distillation ---------------------------------------------------------
    def student_kd_logits(self, record: RoIRecord, stage: int = 0) -> Tensor:
        """The student's class scores ``(R, C + 1)`` of bbox stage ``stage`` the
        KD term is computed on: those of its RoI head's own forward, so the KD
        gradient reaches the whole student."""
        return record.cls_score

    @torch.no_grad()
    def teacher_logits(self, batch_inputs: Tensor, rois: Tensor,
                       stage: int = 0, feats=None) -> Tensor:
        """Teacher class scores ``(R, C + 1)`` of its bbox stage ``stage`` for
        the given RoIs ``(R, 5)``; ``feats``: :meth:`teacher_features` of
        ``batch_inputs`` if already computed (one pass serves all stages)."""
        if feats is None:
            feats = self.teacher_features(batch_inputs)
        return stage_bbox_forward(self.teacher.roi_head, stage, feats,
                                  rois)['cls_score']

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        self.last_roi_record = None
        self.last_roi_records = []
        with self.roi_recorder.record_stages(self.roi_head) as records:
            losses = super().loss(batch_inputs, batch_data_samples)
        if records[0].rois is None or records[0].cls_score is None:
            raise RuntimeError('the student RoI head did not run its bbox head')
        self.last_roi_records = [r.detach() for r in records]
        # a cascade stops early when a stage has no RoIs: its later stages
        # have empty records and get a zero KD term
        ran = [i for i in self.kd_stages if records[i].cls_score is not None]
        self.last_roi_record = RoIRecord.cat(
            [self.last_roi_records[i] for i in ran])
        feats = self.teacher_features(batch_inputs)
        weights = stage_loss_weights(self.roi_head)
        for stage in self.kd_stages:
            record = records[stage]
            if stage in ran:
                t_logits = self.teacher_logits(batch_inputs, record.rois,
                                               stage, feats=feats)
                kd = self.kd_losses(self.student_kd_logits(record, stage),
                                    t_logits, record.labels)
            else:
                kd = self.zero_kd(records[0].cls_score)
            if weights[stage] != 1.0:
                kd['loss_kd'] = kd['loss_kd'] * weights[stage]
            prefix = stage_prefix(self.roi_head, stage)
            losses.update({prefix + k: v for k, v in kd.items()})
        return losses
