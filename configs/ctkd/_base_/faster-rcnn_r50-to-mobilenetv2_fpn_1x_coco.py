# Pairing R50 -> MobileNetV2: teacher Faster R-CNN R50-FPN (model zoo, ms-3x,
# 40.3 AP), student Faster R-CNN MobileNetV2-FPN.
_base_ = './kd_faster-rcnn_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        # stages with stride 4, 8, 16, 32 (24, 32, 96 and the final 1x1 conv's 1280
        # channels): the 4 levels FPN, the anchors and the RoI extractor expect.
        out_indices=(1, 2, 4, 7),
        # As the ResNet students: stem + first stage frozen, BN statistics frozen
        # (2 images per GPU are too few to estimate them).
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        # ImageNet weights in mmdet's MobileNetV2 naming (the ones mmdet's YOLOv3
        # MobileNetV2 config uses; same mean/std/RGB as the ResNet students).
        # `torchvision://mobilenet_v2` does not fit: its keys follow torchvision's
        # `features.N` naming, not mmdet's `conv1/layerN/conv2`.
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]),
    teacher_config='{{ fileDirname }}/teachers/faster-rcnn_r50_fpn_ms-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco/'
    'faster_rcnn_r50_fpn_mstrain_3x_coco_20210524_110822-e10bd31c.pth')
