"""A tiny Faster R-CNN config and a fake batch, for fast detector tests (no data)."""
import copy

import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from mmdet.structures import DetDataSample

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


def tiny_kd(temperature=None, teacher=None, **kwargs):
    """A KDTwoStageDetector dict: student = tiny, teacher = tiny (or given)."""
    cfg = copy.deepcopy(tiny_faster_rcnn())
    cfg['type'] = 'KDTwoStageDetector'
    cfg['teacher_config'] = teacher or tiny_faster_rcnn()
    cfg['temperature'] = temperature or dict(type='GlobalTemperature')
    cfg.update(kwargs)
    return cfg


def fake_batch(num_images=2, size=64, seed=0):
    """Normalised-like inputs ``(B, 3, size, size)`` and data samples with boxes."""
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
        s.gt_instances = gt
        samples.append(s)
    return inputs, samples
