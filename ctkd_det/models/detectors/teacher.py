"""The frozen teacher of a distilled detector: config, weights, building, and
the conversion of the student's normalised inputs to the teacher's."""
import os.path as osp
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.hub import get_config
from mmengine.runner.checkpoint import _load_checkpoint
from torch import Tensor

from mmdet.utils import ConfigType

from ctkd_det.models.utils.roi_stages import stage_classes
from ctkd_det.registry import MODELS

__all__ = ['load_teacher_config', 'check_teacher_ckpt', 'resolve_teacher',
           'load_teacher_weights', 'build_teacher', 'check_two_stage_teacher',
           'teacher_input_converter']


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


def resolve_teacher(teacher_config: Union[ConfigType, str, Path],
                    teacher_ckpt: Optional[Union[str, Path]] = None
                    ) -> ConfigDict:
    """The teacher's model config (:func:`load_teacher_config`), after checking
    that a local ``teacher_ckpt`` exists (:func:`check_teacher_ckpt`; ``None``:
    no weights). The cheap teacher checks a distillation detector runs before
    it builds anything heavy (the student, then the teacher)."""
    model_cfg = load_teacher_config(teacher_config)
    if teacher_ckpt is not None:
        check_teacher_ckpt(str(teacher_ckpt))
    return model_cfg


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


def build_teacher(model_cfg: ConfigType, ckpt: Optional[str] = None,
                  check: Optional[Callable[[nn.Module], None]] = None
                  ) -> nn.Module:
    """Build the teacher from its model config, let ``check(teacher)`` refuse a
    teacher that does not fit the student (it raises ``ValueError`` with the
    reason; each distillation detector supplies its own, e.g.
    :func:`check_two_stage_teacher`), load ``ckpt`` strictly if given, and
    freeze it: no gradients, eval mode. The one place teachers are built."""
    teacher = MODELS.build(model_cfg)
    if check is not None:
        check(teacher)
    if ckpt is not None:
        load_teacher_weights(teacher, str(ckpt))
    teacher.requires_grad_(False)
    teacher.eval()
    return teacher


def check_two_stage_teacher(teacher: nn.Module,
                            num_classes: Union[int, Sequence[int]]) -> None:
    """A teacher for RoI-logit distillation: a two-stage detector with a bbox RoI
    head of the student's bbox stages and classes. ``num_classes``: the
    student's ``num_classes`` of every bbox stage (one per cascade stage; an
    int: a single-stage head). Teacher and student must have the same number
    of stages (the teacher's stage ``i`` scores the student's stage ``i`` RoIs)
    and the same ``num_classes`` in each."""
    if not (getattr(teacher, 'with_roi_head', False)
            and teacher.roi_head.with_bbox):
        raise ValueError(
            'the teacher must be a two-stage detector with a bbox RoI head, '
            f'got {type(teacher).__name__}')
    student = [num_classes] if isinstance(num_classes, int) \
        else list(num_classes)
    t_classes = stage_classes(teacher.roi_head)
    if len(t_classes) != len(student):
        raise ValueError(
            f'teacher and student stage counts differ: the teacher\'s '
            f'{type(teacher.roi_head).__name__} has {len(t_classes)} bbox '
            f'stage(s), the student\'s {len(student)}; stage i of the teacher '
            'scores the RoIs of stage i of the student, so both must have the '
            'same number of stages (e.g. a Cascade R-CNN teacher for a Cascade '
            'R-CNN student with the same num_stages)')
    for stage, (t_cls, s_cls) in enumerate(zip(t_classes, student)):
        if t_cls != s_cls:
            where = f' at stage {stage}' if len(student) > 1 else ''
            raise ValueError(
                f'teacher and student class counts differ{where}: teacher '
                f'num_classes={t_cls}, student num_classes={s_cls}')


def teacher_input_converter(
        student_preprocessor: nn.Module,
        teacher_preprocessor: nn.Module) -> Optional[Callable[[Tensor], Tensor]]:
    """A function converting student-normalised inputs ``(B, 3, H, W)`` to the
    teacher's normalisation when the two data preprocessors differ (mean/std/
    channel order); ``None`` when they agree (the inputs are used as they are)."""
    s_pre, t_pre = student_preprocessor, teacher_preprocessor
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
