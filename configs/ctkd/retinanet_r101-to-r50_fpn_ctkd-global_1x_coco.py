# RetinaNet FPN R101 -> R50, COCO 1x: CTKD, global T, on the dense head's
# sigmoid class logits.
# Bases: student + teacher + COCO data + 1x schedule; temperature module (and,
# for CTKD, the curriculum hook). Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/retinanet_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/ctkd-global.py',
]
# authors' θ0 = 1: dense sigmoid heads use LD's T = 2/8; θ0 = -4 is for RoI logits only
kd_temperature = dict(_base_.kd_temperature, init_value=1.0)
model = dict(temperature=kd_temperature)
