# Pairing R101 -> R50: teacher RetinaNet R101-FPN (model zoo, ms-640-800 3x,
# 41.0 AP), student RetinaNet R50-FPN (mmdet's, ImageNet-initialised from
# torchvision).
_base_ = './kd_retinanet_fpn_1x_coco.py'

model = dict(
    teacher_config='{{ fileDirname }}/teachers/'
    'retinanet_r101_fpn_ms-640-800-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/retinanet/'
    'retinanet_r101_fpn_mstrain_3x_coco/'
    'retinanet_r101_fpn_mstrain_3x_coco_20210720_214650-7ee888e0.pth')
