# GFL FPN R101 -> R18, COCO 1x: vanilla KD on the dense head's sigmoid class
# logits (T = 2, SigmoidKDLoss, teacher-score weighted locations).
# Bases: student + teacher + COCO data + 1x schedule; temperature module (and,
# for CTKD, the curriculum hook). Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/gfl_r101-to-r18_fpn_1x_coco.py',
    '../_base_/methods/kd-t2.py',
]
model = dict(temperature=_base_.kd_temperature)
