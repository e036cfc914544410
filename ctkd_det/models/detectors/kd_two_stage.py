"""Logit distillation for two-stage detectors, with a pluggable temperature module."""
import os.path as osp
from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor

from mmdet.models.detectors import TwoStageDetector
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig

from ctkd_det.models.temperature import BaseTemperature
from ctkd_det.registry import MODELS


def _temperature_types() -> List[str]:
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, BaseTemperature))


def build_temperature(cfg: ConfigType) -> BaseTemperature:
    """Build a temperature module, with a clear error for unknown types."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError('`temperature` must be a config dict with a `type`, one '
                        f'of {_temperature_types()}; got {cfg!r}')
    if cfg['type'] not in _temperature_types():
        raise KeyError(f"unknown temperature type {cfg['type']!r}; registered "
                       f'temperature modules: {_temperature_types()}')
    return MODELS.build(cfg)


def load_teacher_config(teacher_config: Union[ConfigType, str, Path]) -> dict:
    """Return the teacher's model config from a file path, an ``mmdet::`` path, a
    full config (with a ``model`` key) or a model dict."""
    if isinstance(teacher_config, (str, Path)):
        path = str(teacher_config)
        if '::' in path:  # e.g. 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'
            try:
                teacher_config = get_config(path)
            except Exception as e:  # noqa: BLE001 - re-raised with the path
                raise FileNotFoundError(
                    f'teacher_config {path} could not be resolved: {e}') from e
        elif not osp.isfile(path):
            raise FileNotFoundError(f'teacher_config file not found: {path}')
        else:
            teacher_config = Config.fromfile(path)
    if isinstance(teacher_config, Config):
        teacher_config = teacher_config.to_dict()
    if not isinstance(teacher_config, dict):
        raise TypeError('teacher_config must be a path or a dict, got '
                        f'{type(teacher_config).__name__}')
    model = teacher_config.get('model', teacher_config)
    if 'type' not in model:
        raise ValueError('teacher_config has no model `type`')
    return ConfigDict(model)


def check_teacher_ckpt(ckpt: str) -> None:
    """Fail early on a local teacher checkpoint that does not exist (URLs are
    checked when they are downloaded)."""
    if '://' not in ckpt and not osp.isfile(ckpt):
        raise FileNotFoundError(f'teacher_ckpt not found: {ckpt}')


def load_teacher_weights(teacher: nn.Module, ckpt: str) -> None:
    """Load ``ckpt`` into the teacher, strictly: a teacher with missing or unexpected
    keys is a different architecture and distilling from it would be silent noise."""
    check_teacher_ckpt(ckpt)
    try:
        checkpoint = _load_checkpoint(ckpt, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - re-raised with the file name
        raise RuntimeError(
            f'teacher_ckpt {ckpt} could not be read: {type(e).__name__}: {e}') \
            from e
    state_dict = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict):
        raise RuntimeError(f'teacher_ckpt {ckpt} holds no state_dict')
    state_dict = {(k[7:] if k.startswith('module.') else k): v
                  for k, v in state_dict.items()}
    own = teacher.state_dict()
    missing = sorted(set(own) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(own))
    mismatched = sorted(k for k in set(own) & set(state_dict)
                        if tuple(own[k].shape) != tuple(state_dict[k].shape))
    if missing or unexpected or mismatched:
        def head(keys):
            return f'{len(keys)} {keys[:8]}{" ..." if len(keys) > 8 else ""}'
        raise RuntimeError(
            f'teacher_ckpt {ckpt} does not match teacher_config: missing keys '
            f'{head(missing)}; unexpected keys {head(unexpected)}; shape '
            f'mismatches {head(mismatched)}')
    teacher.load_state_dict(state_dict, strict=True)


@MODELS.register_module()
class KDTwoStageDetector(TwoStageDetector):
    """A two-stage detector (the student) distilled from a frozen teacher on RoI
    classification logits, with the KD temperature given by a temperature module.

    In :meth:`loss` the student runs mmdet's own RPN and RoI-head losses; the RoIs its
    RoI head sampled, ``(R, 5)``, and its class scores for them, ``(R, C + 1)``
    (background included), are captured on the way (forward hooks, so the student
    path is exactly mmdet's and nothing runs twice). The teacher then scores **the
    same RoIs** with its own features and RoI head, the temperature module gives
    ``T`` ``(R, 1)``, and ``distill_loss`` is added as ``loss_kd``.

    The teacher is not a submodule: it is absent from ``state_dict`` (checkpoints),
    ``parameters()`` (optimizer, DDP) and ``init_weights``, but follows ``.to()``,
    ``.cuda()`` etc. It is frozen and stays in eval mode (``eval_teacher=True``).
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
            teacher = MODELS.build(teacher_model_cfg)
            if not (getattr(teacher, 'with_roi_head', False)
                    and teacher.roi_head.with_bbox):
                raise ValueError(
                    'the teacher must be a two-stage detector with a bbox RoI head, '
                    f'got {type(teacher).__name__}')
            s_cls = self.roi_head.bbox_head.num_classes
            t_cls = teacher.roi_head.bbox_head.num_classes
            if s_cls != t_cls:
                raise ValueError(
                    f'teacher and student class counts differ: teacher num_classes='
                    f'{t_cls}, student num_classes={s_cls}')
            if teacher_ckpt is not None:
                load_teacher_weights(teacher, str(teacher_ckpt))
            teacher.requires_grad_(False)
            teacher.eval()
            # Not registered as a submodule: see the class docstring.
            object.__setattr__(self, 'teacher', teacher)
            self.eval_teacher = eval_teacher
            self._teacher_input = self._input_converter(teacher)

            self.temperature = build_temperature(temperature)
        self.distill_loss = MODELS.build(distill_loss)
        self.kd_skipped_steps = 0

    # -- teacher bookkeeping ------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        """``.to()``, ``.cuda()``, ``.half()`` … reach the unregistered teacher."""
        self.teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.train(False if self.eval_teacher else mode)
        return self

    def _input_converter(self, teacher):
        """Convert student-normalised inputs to the teacher's normalisation when
        the two data preprocessors differ (mean/std/channel order); else identity."""
        s_pre, t_pre = self.data_preprocessor, teacher.data_preprocessor
        keys = ('mean', 'std')
        if not all(hasattr(p, k) for p in (s_pre, t_pre) for k in keys):
            return None
        same = all(torch.equal(getattr(s_pre, k), getattr(t_pre, k))
                   for k in keys) and \
            getattr(s_pre, '_channel_conversion', False) == \
            getattr(t_pre, '_channel_conversion', False)
        if same:
            return None

        def convert(x: Tensor) -> Tensor:
            raw = x * s_pre.std + s_pre.mean
            if getattr(s_pre, '_channel_conversion', False) != \
                    getattr(t_pre, '_channel_conversion', False):
                raw = raw.flip(1)
            return (raw - t_pre.mean) / t_pre.std
        return convert

    # -- distillation ---------------------------------------------------------
    @contextmanager
    def _capture_student_rois(self):
        """Record the RoIs ``(R, 5)`` entering the student's bbox RoI extractor,
        the RoI features entering its bbox head and the class scores
        ``(R, C + 1)`` leaving it (first call each)."""
        captured = {}

        def rois_hook(module, args):
            captured.setdefault('rois', args[1])

        def scores_hook(module, args, output):
            captured.setdefault('bbox_feats', args[0])
            captured.setdefault('cls_score', output[0])

        handles = [
            self.roi_head.bbox_roi_extractor.register_forward_pre_hook(
                rois_hook),
            self.roi_head.bbox_head.register_forward_hook(scores_hook)
        ]
        try:
            yield captured
        finally:
            for h in handles:
                h.remove()

    def student_kd_logits(self, captured: dict) -> Tensor:
        """The student's class scores ``(R, C + 1)`` the KD term is computed on:
        those of its RoI head's own forward, so the KD gradient reaches the
        whole student."""
        return captured['cls_score']

    @torch.no_grad()
    def teacher_logits(self, batch_inputs: Tensor, rois: Tensor) -> Tensor:
        """Teacher class scores ``(R, C + 1)`` for the given RoIs ``(R, 5)``."""
        if self._teacher_input is not None:
            batch_inputs = self._teacher_input(batch_inputs)
        feats = self.teacher.extract_feat(batch_inputs)
        return self.teacher.roi_head._bbox_forward(feats, rois)['cls_score']

    def kd_losses(self, student_logits: Tensor, teacher_logits: Tensor) -> dict:
        """``loss_kd`` plus the temperatures used (logged, not optimised)."""
        if not (torch.isfinite(student_logits).all()
                and torch.isfinite(teacher_logits).all()):
            # Skip rather than poison the weights; count and warn.
            self.kd_skipped_steps += 1
            MMLogger.get_current_instance().warning(
                'KDTwoStageDetector: non-finite logits, KD term skipped '
                f'({self.kd_skipped_steps} step(s) so far)')
            zero = student_logits.new_zeros(())
            # keep the temperature parameters in the graph (zero gradient): under
            # DDP a rank that skips must still join the gradient all-reduce
            loss = zero + sum((0. * p.sum() for p in
                               self.temperature.parameters()), zero)
            return dict(loss_kd=loss, kd_temp=zero, kd_temp_p10=zero,
                        kd_temp_p90=zero)
        temp = self.temperature(teacher_logits, student_logits)
        loss = self.distill_loss(student_logits, teacher_logits, temp)
        t = temp.detach().flatten().float()
        if t.numel() == 0:
            t = t.new_zeros(1)
        q = torch.quantile(t, t.new_tensor([0.1, 0.9]))
        return dict(loss_kd=loss, kd_temp=t.mean(), kd_temp_p10=q[0],
                    kd_temp_p90=q[1])

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        with self._capture_student_rois() as captured:
            losses = super().loss(batch_inputs, batch_data_samples)
        if 'rois' not in captured or 'cls_score' not in captured:
            raise RuntimeError('the student RoI head did not run its bbox head')
        rois, s_logits = captured['rois'], self.student_kd_logits(captured)
        t_logits = self.teacher_logits(batch_inputs, rois)
        losses.update(self.kd_losses(s_logits, t_logits))
        return losses
