"""Recording what a two-stage detector's RoI head did in one training step.

Distillation on RoI logits needs the RoIs the student's RoI head sampled and its
class scores for them; RLKD also needs those RoIs' training targets (label and
IoU with the assigned ground truth). mmdet's ``StandardRoIHead.loss`` returns
none of these, so :class:`RoIRecorder` records them while it runs (in the style
of mmrazor's recorders), without changing what it computes:

* ``rois`` ``(R, 5)`` (``[batch_idx, x1, y1, x2, y2]``): input of the bbox RoI
  extractor (forward pre-hook);
* ``bbox_feats`` ``(R, C_feat, h, w)`` and ``cls_score`` ``(R, C + 1)``
  (background last): input and first output of the bbox head (forward hook);
* ``labels`` ``(R,)`` in ``[0, C]`` (background = ``C``) and ``ious`` ``(R,)``:
  from ``bbox_head.loss_and_target`` (wrapped), its targets' labels and the IoU
  of every positive RoI with its assigned ground truth (0 for negatives).

All in the RoI head's order (per image: positives, then negatives), first call
of each only. A cascade RoI head (``CascadeRoIHead``: one extractor and bbox
head per stage) gets one :class:`RoIRecord` per stage
(:meth:`RoIRecorder.record_stages`); a single-stage head (``StandardRoIHead``)
is the one-stage case (:meth:`RoIRecorder.record` yields its record). Hooks and
wrappers exist only inside these contexts and are removed on exit, whatever
happens.
"""
import functools
import inspect
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields
from typing import Iterator, List, Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from torch import Tensor

from ctkd_det.models.utils.roi_stages import bbox_stages, is_multi_stage

__all__ = ['RoIRecord', 'RoIRecorder', 'sampled_roi_ious']


@dataclass
class RoIRecord:
    """What the RoI head did in one ``loss`` call (``None``: not recorded).

    ``rois`` ``(R, 5)``, ``cls_score`` ``(R, C + 1)``, ``bbox_feats``
    ``(R, C_feat, h, w)``, ``labels`` ``(R,)`` (background = ``C``), ``ious``
    ``(R,)`` (0 for negatives).
    """
    rois: Optional[Tensor] = None
    cls_score: Optional[Tensor] = None
    bbox_feats: Optional[Tensor] = None
    labels: Optional[Tensor] = None
    ious: Optional[Tensor] = None

    def detach(self, keep_feats: bool = False) -> 'RoIRecord':
        """A copy without autograd graph; ``bbox_feats`` (large) dropped unless
        ``keep_feats``."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if not keep_feats:
            values['bbox_feats'] = None
        return RoIRecord(**{k: None if v is None else v.detach()
                            for k, v in values.items()})

    @staticmethod
    def cat(records: List['RoIRecord']) -> 'RoIRecord':
        """The rows of ``records`` one after the other (a field is ``None``
        if it is ``None`` in any of them); one record is returned as it is."""
        if len(records) == 1:
            return records[0]
        values = {}
        for f in fields(RoIRecord):
            parts = [getattr(r, f.name) for r in records]
            values[f.name] = None if not parts or any(
                p is None for p in parts) else torch.cat(parts)
        return RoIRecord(**values)


@torch.no_grad()
def sampled_roi_ious(sampling_results: List) -> Tensor:
    """IoU of every sampled RoI with its assigned ground truth (0 for negatives),
    in the RoI head's order (per image: positives, then negatives)."""
    from mmdet.structures.bbox import bbox_overlaps, get_box_tensor
    out = []
    for res in sampling_results:
        pos = get_box_tensor(res.pos_priors)
        gt = get_box_tensor(res.pos_gt_bboxes)
        if pos.numel():
            out.append(bbox_overlaps(pos, gt.to(pos), is_aligned=True))
        else:
            out.append(pos.new_zeros(0))
        out.append(pos.new_zeros(get_box_tensor(res.neg_priors).size(0)))
    return torch.cat(out)


class RoIRecorder:
    """Records an RoI head's sampled RoIs, their class scores, RoI features and
    training targets during one ``loss`` call, one :class:`RoIRecord` per bbox
    stage::

        with recorder.record_stages(detector.roi_head) as records:
            losses = detector.loss(...)   # fills records[i] for stage i

        with recorder.record(detector.roi_head) as record:  # single stage
            losses = detector.loss(...)

    Needs a bbox RoI head (``bbox_roi_extractor`` and ``bbox_head``, or one of
    each per stage in a cascade); without a ``bbox_head.loss_and_target`` the
    targets stay ``None`` (with a warning). A stage that does not run (a cascade
    stops early when a stage has no RoIs) keeps an empty record.
    """

    TARGET_METHOD = 'loss_and_target'

    def __init__(self) -> None:
        self._warned = False

    def _warn(self, msg: str) -> None:
        if not self._warned:
            MMLogger.get_current_instance().warning(f'RoIRecorder: {msg}')
            self._warned = True

    @contextmanager
    def record(self, roi_head: nn.Module) -> Iterator[RoIRecord]:
        """The record of a single-stage RoI head (see :meth:`record_stages`)."""
        if is_multi_stage(roi_head):
            raise ValueError(
                f'{type(roi_head).__name__} has several bbox stages: record it '
                'with RoIRecorder.record_stages (one RoIRecord per stage)')
        with self.record_stages(roi_head) as records:
            yield records[0]

    @contextmanager
    def record_stages(self, roi_head: nn.Module) -> Iterator[List[RoIRecord]]:
        """One :class:`RoIRecord` per bbox stage of ``roi_head``, filled while
        the context is open."""
        records = []
        with ExitStack() as stack:
            for extractor, bbox_head in bbox_stages(roi_head):
                records.append(stack.enter_context(
                    self._record_stage(extractor, bbox_head)))
            yield records

    @contextmanager
    def _record_stage(self, bbox_roi_extractor: nn.Module,
                      bbox_head: nn.Module) -> Iterator[RoIRecord]:
        """Hooks on one stage's RoI extractor and bbox head, and the wrapper of
        its ``loss_and_target``, for the context's duration."""
        record = RoIRecord()

        def rois_hook(module, args):
            if record.rois is None:
                record.rois = args[1]

        def head_hook(module, args, output):
            if record.cls_score is None:
                record.bbox_feats = args[0]
                record.cls_score = output[0]

        handles = [
            bbox_roi_extractor.register_forward_pre_hook(rois_hook),
            bbox_head.register_forward_hook(head_hook)
        ]
        name = self.TARGET_METHOD
        method = getattr(bbox_head, name, None)
        own = bbox_head.__dict__.get(name)  # an instance attribute to restore
        if method is None:
            self._warn(f'{type(bbox_head).__name__} has no {name}: RoI labels '
                       'and IoUs are not recorded')
        else:
            signature = inspect.signature(method)

            @functools.wraps(method)  # keeps the signature for nested recorders
            def recorded(*args, **kwargs):
                out = method(*args, **kwargs)
                if record.labels is None:
                    try:
                        bound = signature.bind(*args, **kwargs)
                        labels = out['bbox_targets'][0].detach()
                        ious = sampled_roi_ious(
                            bound.arguments['sampling_results'])
                    except Exception as e:  # noqa: BLE001 - targets optional
                        self._warn(f'RoI labels and IoUs not recorded ({e!r})')
                    else:
                        record.labels, record.ious = labels, ious
                return out

            setattr(bbox_head, name, recorded)
        try:
            yield record
        finally:
            for h in handles:
                h.remove()
            if method is not None:
                if own is None:
                    bbox_head.__dict__.pop(name, None)
                else:
                    setattr(bbox_head, name, own)
