# Faster R-CNN FPN R50 -> MobileNetV2, COCO 1x: fg/bg KD (foreground and background RoIs
# averaged apart, weighted 2 / 2) with CTKD's global T from the authors' θ0 = 1.
# Bases: student + teacher + COCO data + 1x schedule; temperature module and the
# curriculum hook; the fg/bg loss. Override e.g. `model.teacher_ckpt=/path.pth`.
_base_ = [
    './_base_/faster-rcnn_r50-to-mobilenetv2_fpn_1x_coco.py',
    '../_base_/methods/ctkd-global.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
