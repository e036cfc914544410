# Faster R-CNN FPN R101 -> R50, COCO 1x: vanilla KD (T = 1, the detection recipe).
# Bases: student + teacher + COCO data + 1x schedule; temperature module (and,
# for CTKD, the curriculum hook). Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/faster-rcnn_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/kd.py',
]
model = dict(temperature=_base_.kd_temperature)
