"""Fail before the first iteration when the dataset's classes do not fit the model."""
import logging
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.runner import BaseLoop

from ctkd_det.registry import HOOKS
from ctkd_det.utils import unwrap_model

__all__ = ['DistillDataCheckHook', 'model_num_classes']


def model_num_classes(model) -> Optional[int]:
    """``num_classes`` of the (unwrapped) detector's classification head(s):
    ``roi_head.bbox_head`` (a list for cascades: all stages must agree) or a
    single-stage ``bbox_head``; ``None`` if the model has neither."""
    model = unwrap_model(model)
    roi_head = getattr(model, 'roi_head', None)
    head = getattr(roi_head, 'bbox_head', None) if roi_head is not None \
        else getattr(model, 'bbox_head', None)
    if head is None:
        return None
    heads = list(head) if isinstance(head, (list, tuple, nn.ModuleList)) \
        else [head]
    counts = {getattr(h, 'num_classes', None) for h in heads} - {None}
    if len(counts) > 1:
        raise ValueError(f'the model\'s bbox heads disagree on num_classes: '
                         f'{sorted(counts)}')
    return counts.pop() if counts else None


@HOOKS.register_module()
class DistillDataCheckHook(Hook):
    """Compare the number of classes of the datasets (``metainfo['classes']``) with
    the student's ``roi_head.bbox_head.num_classes`` and raise a ``ValueError``
    naming both before anything runs (``before_run``: the loops, hence the
    datasets, are built; weights are not initialised or loaded yet).

    A mismatch (typically a config that forgot ``metainfo=dict(classes=...)`` and
    falls back to COCO's 80 classes, or a model with another ``num_classes``)
    otherwise trains a head whose labels mean something else, silently.

    Checks the train dataset in ``runner.train()``, and the val / test datasets
    whose loops are built (``runner.val()`` / ``runner.test()``, or validation
    during training).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        num_classes = model_num_classes(runner.model)
        if num_classes is None:
            print_log('DistillDataCheckHook: the model has no bbox head with '
                      '`num_classes`; class check skipped', logger='current',
                      level=logging.WARNING)
            return
        problems: List[Tuple[str, str, int]] = []
        for split in ('train', 'val', 'test'):
            loop = getattr(runner, f'_{split}_loop', None)
            if not isinstance(loop, BaseLoop):
                continue  # not built: not used by this run
            dataset = loop.dataloader.dataset
            classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
            if classes is None:
                print_log(f'DistillDataCheckHook: the {split} dataset has no '
                          "metainfo['classes']; class check skipped",
                          logger='current', level=logging.WARNING)
                continue
            if len(classes) != num_classes:
                problems.append((split, type(dataset).__name__, len(classes)))
        if problems:
            found = '; '.join(f'{split} dataset ({name}) has {n} classes'
                              for split, name, n in problems)
            raise ValueError(
                f'dataset classes do not match the model: {found}, but the '
                f"model's roi_head.bbox_head.num_classes={num_classes}. Set the "
                "dataset's metainfo=dict(classes=...) and the model's "
                'num_classes (student and teacher) to the same classes.')
