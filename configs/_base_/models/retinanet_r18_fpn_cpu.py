# One-stage student of the CPU-sized generated sets (shapes): RetinaNet,
# ResNet-18 + FPN(64 ch), trained from scratch. The config sets the class count
# (`model.bbox_head.num_classes`; mmdet's model says 80).
_base_ = 'mmdet::_base_/models/retinanet_r50_fpn.py'

neck_channels = 64

model = dict(
    backbone=dict(
        depth=18,
        # trained from scratch: nothing frozen, BN statistics are learned
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    # FPN levels from C2 on (strides 4..64, as the Faster R-CNN CPU models):
    # shapes objects are 14-75 px in 160 px images, mmdet's strides 8..128
    # would put most of them below the smallest anchors
    neck=dict(
        in_channels=[64, 128, 256, 512],
        out_channels=neck_channels,
        start_level=0,
        num_outs=5),
    bbox_head=dict(
        in_channels=neck_channels,
        feat_channels=neck_channels,
        # 9 anchors per cell, 16..406 px (octave_base_scale 4 x strides 4..64,
        # 3 scales per octave, ratios 0.5/1/2)
        anchor_generator=dict(strides=[4, 8, 16, 32, 64])))
