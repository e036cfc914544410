"""Tiny Faster / Cascade / Mask R-CNN configs and a fake batch, for fast detector
tests (no data)."""
import copy

import numpy as np
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks

NUM_CLASSES = 3


def _assign_and_sample(pos_iou_thr, neg_iou_thr, min_pos_iou,
                       match_low_quality, pos_fraction, add_gt_as_proposals):
    """A training stage's ``assigner`` (max IoU) and ``sampler`` (64 random
    boxes per image)."""
    return dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=pos_iou_thr,
                      neg_iou_thr=neg_iou_thr, min_pos_iou=min_pos_iou,
                      match_low_quality=match_low_quality, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=64, pos_fraction=pos_fraction,
                     neg_pos_ub=-1, add_gt_as_proposals=add_gt_as_proposals))


def tiny_faster_rcnn(num_classes=NUM_CLASSES, base_channels=8, mean=None):
    """A FasterRCNN model dict small enough to run a step in well under a second."""
    c = [base_channels * 2**i for i in range(4)]
    return ConfigDict(
        type='FasterRCNN',
        data_preprocessor=dict(
            type='DetDataPreprocessor', mean=mean or [123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=base_channels,
                      num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True),
                      norm_eval=True, style='pytorch', init_cfg=None),
        neck=dict(type='FPN', in_channels=c, out_channels=16, num_outs=5),
        rpn_head=dict(
            type='RPNHead', in_channels=16, feat_channels=16,
            anchor_generator=dict(type='AnchorGenerator', scales=[4],
                                  ratios=[0.5, 1.0, 2.0],
                                  strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                            target_means=[.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True,
                          loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        roi_head=dict(
            type='StandardRoIHead',
            bbox_roi_extractor=dict(
                type='SingleRoIExtractor',
                roi_layer=dict(type='RoIAlign', output_size=7,
                               sampling_ratio=0),
                out_channels=16, featmap_strides=[4, 8, 16, 32]),
            bbox_head=dict(
                type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32,
                roi_feat_size=7, num_classes=num_classes,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder',
                                target_means=[0.] * 4,
                                target_stds=[0.1, 0.1, 0.2, 0.2]),
                reg_class_agnostic=False,
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                              loss_weight=1.0),
                loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
        train_cfg=dict(
            rpn=dict(**_assign_and_sample(0.7, 0.3, 0.3, True, 0.5, False),
                     allowed_border=-1, pos_weight=-1, debug=False),
            rpn_proposal=dict(nms_pre=200, max_per_img=100,
                              nms=dict(type='nms', iou_threshold=0.7),
                              min_bbox_size=0),
            rcnn=dict(**_assign_and_sample(0.5, 0.5, 0.5, False, 0.25, True),
                      pos_weight=-1, debug=False)),
        test_cfg=dict(
            rpn=dict(nms_pre=100, max_per_img=50,
                     nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
            rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5),
                      max_per_img=20)))


def _tiny_bbox_head(num_classes, target_stds, reg_class_agnostic):
    return dict(
        type='Shared2FCBBoxHead', in_channels=16, fc_out_channels=32,
        roi_feat_size=7, num_classes=num_classes,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.] * 4,
                        target_stds=target_stds),
        reg_class_agnostic=reg_class_agnostic,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False,
                      loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0))


# mmdet's Cascade R-CNN: per stage, tighter box-coder stds and IoU thresholds
CASCADE_STDS = ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                [0.033, 0.033, 0.067, 0.067])
CASCADE_IOUS = (0.5, 0.6, 0.7)


def tiny_cascade_rcnn(num_classes=NUM_CLASSES, base_channels=8, num_stages=3,
                      stage_loss_weights=(1.0, 0.5, 0.25)):
    """A CascadeRCNN model dict: ``tiny_faster_rcnn``'s backbone, neck and RPN,
    a ``CascadeRoIHead`` of ``num_stages`` (<= 3) tiny bbox stages as mmdet's
    Cascade R-CNN (class-agnostic regression, stds and IoUs per stage)."""
    cfg = tiny_faster_rcnn(num_classes, base_channels)
    cfg['type'] = 'CascadeRCNN'
    extractor = cfg['roi_head']['bbox_roi_extractor']
    cfg['roi_head'] = ConfigDict(
        type='CascadeRoIHead', num_stages=num_stages,
        stage_loss_weights=list(stage_loss_weights[:num_stages]),
        bbox_roi_extractor=extractor,
        bbox_head=[_tiny_bbox_head(num_classes, CASCADE_STDS[i], True)
                   for i in range(num_stages)])
    cfg['train_cfg']['rcnn'] = [
        dict(**_assign_and_sample(iou, iou, iou, False, 0.25, True),
             pos_weight=-1, debug=False) for iou in CASCADE_IOUS[:num_stages]]
    return cfg


def tiny_mask_rcnn(num_classes=NUM_CLASSES, base_channels=8):
    """A MaskRCNN model dict: ``tiny_faster_rcnn`` plus a tiny mask branch
    (its own RoI extractor, 14 px RoIs, 28 px masks)."""
    cfg = tiny_faster_rcnn(num_classes, base_channels)
    cfg['type'] = 'MaskRCNN'
    cfg['data_preprocessor']['pad_mask'] = True
    cfg['roi_head']['mask_roi_extractor'] = dict(
        type='SingleRoIExtractor',
        roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
        out_channels=16, featmap_strides=[4, 8, 16, 32])
    cfg['roi_head']['mask_head'] = dict(
        type='FCNMaskHead', num_convs=2, in_channels=16, conv_out_channels=16,
        num_classes=num_classes,
        loss_mask=dict(type='CrossEntropyLoss', use_mask=True,
                       loss_weight=1.0))
    cfg['train_cfg']['rcnn']['mask_size'] = 28
    cfg['test_cfg']['rcnn']['mask_thr_binary'] = 0.5
    return cfg


def tiny_kd(temperature=None, teacher=None, student=None, **kwargs):
    """A KDTwoStageDetector dict: student = ``student`` (default tiny Faster
    R-CNN), teacher = the same architecture (or ``teacher``)."""
    student = student or tiny_faster_rcnn()
    cfg = copy.deepcopy(student)
    cfg['type'] = 'KDTwoStageDetector'
    cfg['teacher_config'] = teacher or copy.deepcopy(student)
    cfg['temperature'] = temperature or dict(type='GlobalTemperature')
    cfg.update(kwargs)
    return cfg


def fake_batch(num_images=2, size=64, seed=0, masks=False):
    """Normalised-like inputs ``(B, 3, size, size)`` and data samples with boxes
    (and, with ``masks``, each box's filled rectangle as its ``BitmapMasks``)."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num_images, 3, size, size, generator=g)
    samples = []
    for _ in range(num_images):
        s = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size),
            pad_shape=(size, size), batch_input_shape=(size, size),
            scale_factor=(1.0, 1.0)))
        xy = torch.rand(3, 2, generator=g) * size * 0.6
        wh = 8 + torch.rand(3, 2, generator=g) * size * 0.3
        gt = InstanceData()
        gt.bboxes = torch.cat([xy, (xy + wh).clamp(max=size - 1)], dim=1)
        gt.labels = torch.randint(0, NUM_CLASSES, (3,), generator=g)
        if masks:
            bitmaps = np.zeros((3, size, size), dtype=np.uint8)
            for k, (x1, y1, x2, y2) in enumerate(gt.bboxes.round().int().tolist()):
                bitmaps[k, y1:y2 + 1, x1:x2 + 1] = 1
            gt.masks = BitmapMasks(bitmaps, size, size)
        s.gt_instances = gt
        samples.append(s)
    return inputs, samples


# -- one-stage (dense) detectors ----------------------------------------------------
DENSE_STRIDES = (8, 16, 32, 64, 128)


def _dense(model_type, bbox_head, train_cfg=None, base_channels=8, mean=None,
           strides=DENSE_STRIDES):
    """A tiny one-stage detector: ResNet-18 trunk (``base_channels`` wide) and
    a 16-channel FPN with 5 levels at ``strides`` (8..128 as mmdet's RetinaNet,
    or 4..64), around ``bbox_head``."""
    c = [base_channels * 2**i for i in range(4)]
    start_level = {4: 0, 8: 1}[strides[0]]
    return ConfigDict(
        type=model_type,
        data_preprocessor=dict(
            type='DetDataPreprocessor', mean=mean or [123.675, 116.28, 103.53],
            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32),
        backbone=dict(type='ResNet', depth=18, base_channels=base_channels,
                      num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
                      norm_cfg=dict(type='BN', requires_grad=True),
                      norm_eval=True, style='pytorch', init_cfg=None),
        neck=dict(type='FPN', in_channels=c, out_channels=16,
                  start_level=start_level, add_extra_convs='on_input',
                  num_outs=5),
        bbox_head=dict(bbox_head, in_channels=16, feat_channels=16,
                       stacked_convs=1),
        train_cfg=train_cfg,
        test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                      nms=dict(type='nms', iou_threshold=0.5), max_per_img=20))


def _atss_train_cfg():
    return dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                pos_weight=-1, debug=False)


def _one_anchor(strides):
    """ATSS / GFL anchors: one square anchor of 8 strides per cell."""
    return dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                scales_per_octave=1, strides=list(strides))


FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
             loss_weight=1.0)
GN = dict(type='GN', num_groups=4, requires_grad=True)


def tiny_retinanet(num_classes=NUM_CLASSES, base_channels=8, mean=None,
                   strides=DENSE_STRIDES, scales_per_octave=3, sigmoid=True):
    """A RetinaNet model dict (3 · ``scales_per_octave`` anchors per cell);
    ``sigmoid=False``: a softmax classifier (cross-entropy, background last)."""
    loss_cls = FOCAL if sigmoid else dict(
        type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
    head = dict(
        type='RetinaHead', num_classes=num_classes,
        anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                              scales_per_octave=scales_per_octave,
                              ratios=[0.5, 1.0, 2.0], strides=list(strides)),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[1.0] * 4),
        loss_cls=loss_cls, loss_bbox=dict(type='L1Loss', loss_weight=1.0))
    train_cfg = dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                      min_pos_iou=0, ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
        debug=False)
    return _dense('RetinaNet', head, train_cfg, base_channels, mean, strides)


def tiny_fcos(num_classes=NUM_CLASSES, base_channels=8, mean=None,
              strides=DENSE_STRIDES):
    """An FCOS model dict (one point per cell, class / box / centerness)."""
    head = dict(
        type='FCOSHead', num_classes=num_classes, strides=list(strides),
        norm_cfg=GN, loss_cls=FOCAL,
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0))
    return _dense('FCOS', head, None, base_channels, mean, strides)


def tiny_atss(num_classes=NUM_CLASSES, base_channels=8, mean=None,
              strides=DENSE_STRIDES):
    """An ATSS model dict (one anchor per cell, class / box / centerness)."""
    head = dict(
        type='ATSSHead', num_classes=num_classes, norm_cfg=GN,
        anchor_generator=_one_anchor(strides),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4,
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=FOCAL, loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True,
                             loss_weight=1.0))
    return _dense('ATSS', head, _atss_train_cfg(), base_channels, mean, strides)


def tiny_gfl(num_classes=NUM_CLASSES, base_channels=8, mean=None,
             strides=DENSE_STRIDES):
    """A GFL model dict (one anchor per cell; quality-focal class branch,
    distribution box branch)."""
    head = dict(
        type='GFLHead', num_classes=num_classes, norm_cfg=GN,
        anchor_generator=_one_anchor(strides),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0,
                      loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        reg_max=8, loss_bbox=dict(type='GIoULoss', loss_weight=2.0))
    return _dense('GFL', head, _atss_train_cfg(), base_channels, mean, strides)


def tiny_kd_single(student=None, teacher=None, temperature=None, **kwargs):
    """A KDSingleStageDetector dict: student = ``student`` (default a tiny
    RetinaNet), teacher = the same architecture (or given)."""
    student = student or tiny_retinanet()
    cfg = copy.deepcopy(student)
    cfg['type'] = 'KDSingleStageDetector'
    cfg['teacher_config'] = teacher or copy.deepcopy(student)
    cfg['temperature'] = temperature or dict(type='GlobalTemperature')
    cfg.update(kwargs)
    return cfg
