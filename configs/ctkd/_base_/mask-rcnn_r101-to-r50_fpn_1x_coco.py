# Pairing Mask R-CNN R101 -> R50: teacher Mask R-CNN R101-FPN (model zoo, ms-poly
# 3x, 42.7 box AP), student Mask R-CNN R50-FPN (mmdet's, ImageNet-initialised
# from torchvision).
_base_ = './kd_mask-rcnn_fpn_1x_coco.py'

model = dict(
    teacher_config='{{ fileDirname }}/teachers/mask-rcnn_r101_fpn_ms-poly-3x_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/mask_rcnn/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco/'
    'mask_rcnn_r101_fpn_mstrain-poly_3x_coco_20210524_200244-5675c317.pth')
