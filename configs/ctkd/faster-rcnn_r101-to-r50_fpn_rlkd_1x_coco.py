# Faster R-CNN FPN R101 -> R50, COCO 1x: RLKD, a PPO agent's per-RoI T.
# Bases: student + teacher + COCO data + 1x schedule; temperature module and the
# RLTemperatureHook that trains its agent. Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/faster-rcnn_r101-to-r50_fpn_1x_coco.py',
    '../_base_/methods/rlkd.py',
]
model = dict(temperature=_base_.kd_temperature)
