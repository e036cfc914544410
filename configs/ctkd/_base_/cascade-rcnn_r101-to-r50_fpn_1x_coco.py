# Pairing Cascade R-CNN R101 -> R50: teacher Cascade R-CNN R101-FPN (model zoo,
# 20e, 42.5 AP), student Cascade R-CNN R50-FPN (mmdet's, ImageNet-initialised
# from torchvision). Stage i of the teacher scores the RoIs of stage i of the
# student (both have 3 stages; checked when the teacher is built).
_base_ = './kd_cascade-rcnn_fpn_1x_coco.py'

model = dict(
    teacher_config='{{ fileDirname }}/teachers/cascade-rcnn_r101_fpn_20e_coco.py',
    teacher_ckpt='https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/'
    'cascade_rcnn_r101_fpn_20e_coco/'
    'cascade_rcnn_r101_fpn_20e_coco_bbox_mAP-0.425_20200504_231812-5057dcc5.pth')
