# Student baseline (no distillation) on the glyphs set: Faster R-CNN, ResNet-18 +
# FPN(64 ch), trained from scratch; model, schedule and optimiser as the shapes
# student (configs/shapes/faster-rcnn_r18_fpn_shapes.py, which explains how to
# override the epochs), only the data and the class count differ.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    './_base_/glyphs_detection.py',
    '../shapes/_base_/shapes_runtime.py',
]

max_epochs = 12
num_classes = 29  # len(ctkd_det.datasets.glyphs.GLYPHS_CLASSES), checked by tests
neck_channels = 64

model = dict(
    backbone=dict(
        depth=18,
        # trained from scratch: nothing frozen, BN statistics are learned
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=neck_channels),
    rpn_head=dict(
        in_channels=neck_channels,
        feat_channels=neck_channels,
        # anchors 16..256 px (scale 4 x strides 4..64): glyph boxes are ~4-178 px
        # wide/tall, mostly taller than wide (median h/w 1.3); mmdet's ratios
        # 0.5/1/2 reach IoU >= 0.5 for 97 % of them
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=neck_channels),
        bbox_head=dict(
            in_channels=neck_channels,
            fc_out_channels=256,
            num_classes=num_classes)),
    # <= 8 objects per 192 px image: far fewer proposals / RoIs than COCO needs
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=600, max_per_img=300)))

train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[max_epochs * 3 // 4, max_epochs * 11 // 12],
        gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.001, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))

default_hooks = dict(checkpoint=dict(interval=max_epochs))
