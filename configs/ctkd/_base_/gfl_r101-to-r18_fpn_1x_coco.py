# Pairing R101 -> R18: teacher GFL R101-FPN (model zoo, ms 2x, 44.7 AP), student
# GFL R18-FPN (ImageNet-initialised; the FPN and head as mmdet's GFL R50, as in
# mmdet's LD R18 config).
_base_ = './kd_gfl_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        depth=18,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]),
    teacher_config='{{ fileDirname }}/teachers/gfl_r101_fpn_ms-2x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/gfl/'
    'gfl_r101_fpn_mstrain_2x_coco/'
    'gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth')
