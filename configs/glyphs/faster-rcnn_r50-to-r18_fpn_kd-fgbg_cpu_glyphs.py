# Glyphs, R50 -> R18: KD at T = 1, foreground and background RoIs averaged apart
# and weighted 2 / 2 (DeFeat's RoI head).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/kd-t1.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
