# Mask R-CNN FPN R101 -> R50, COCO 1x: CTKD, global T, on the bbox head's RoI
# logits (the mask branch trains with mmdet's mask loss, undistilled).
# Bases: student + teacher + COCO instances + 1x schedule; temperature module and
# the curriculum hook. Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/mask-rcnn_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/ctkd-global.py',
]
model = dict(temperature=_base_.kd_temperature)
