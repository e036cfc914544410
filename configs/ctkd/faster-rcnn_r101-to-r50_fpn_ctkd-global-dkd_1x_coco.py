# Faster R-CNN FPN R101 -> R50, COCO 1x: DKD (alpha 1, beta 0.25) with CTKD's global T.
# Bases: student + teacher + COCO data + 1x schedule; temperature module (and,
# for CTKD, the curriculum hook); the DKD loss. Override e.g.
# `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/faster-rcnn_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/ctkd-global_t0-low.py',
    '../_base_/losses/dkd.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
