# Glyphs, R50 -> R18: DKD (alpha 1, beta 0.25) at a fixed T = 1 (mdistiller's
# detection recipe).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/kd-t1.py',
    '../_base_/losses/dkd.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
