# Cascade R-CNN student of the CPU-sized generated sets: the Faster R-CNN
# student's backbone, neck, RPN and proposal / sampling sizes
# (faster-rcnn_r18_fpn_cpu.py), with mmdet's 3-stage Cascade RoI head
# (mmdet::_base_/models/cascade-rcnn_r50_fpn.py): stage loss weights 1 / 0.5 /
# 0.25, class-agnostic box regression with tighter box-coder stds and higher
# IoU thresholds (0.5 / 0.6 / 0.7) per stage, smooth-L1 box loss. The config
# sets the class count of every stage (`model.roi_head.bbox_head`, a list).
_base_ = './faster-rcnn_r18_fpn_cpu.py'

model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        bbox_roi_extractor=_base_.model.roi_head.bbox_roi_extractor,
        bbox_head=[
            dict(_base_.model.roi_head.bbox_head,
                 reg_class_agnostic=True,
                 bbox_coder=dict(_base_.model.roi_head.bbox_head.bbox_coder,
                                 target_stds=stds),
                 loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))
            for stds in ([0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                         [0.033, 0.033, 0.067, 0.067])
        ]),
    train_cfg=dict(rcnn=[
        dict(_base_.model.train_cfg.rcnn,
             assigner=dict(_base_.model.train_cfg.rcnn.assigner,
                           pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou))
        for iou in (0.5, 0.6, 0.7)
    ]))
