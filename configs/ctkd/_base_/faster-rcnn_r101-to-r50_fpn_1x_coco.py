# Pairing R101 -> R50: teacher Faster R-CNN R101-FPN (model zoo, ms-3x, 41.8 AP),
# student Faster R-CNN R50-FPN (mmdet's, ImageNet-initialised from torchvision).
_base_ = './kd_faster-rcnn_fpn_1x_coco.py'

model = dict(
    teacher_config='{{ fileDirname }}/teachers/faster-rcnn_r101_fpn_ms-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/'
    'faster_rcnn_r101_fpn_mstrain_3x_coco/'
    'faster_rcnn_r101_fpn_mstrain_3x_coco_20210524_110822-4d4d2ca8.pth')
