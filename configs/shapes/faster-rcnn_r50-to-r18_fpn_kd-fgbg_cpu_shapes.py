# Shapes, R50-FPN(128) teacher -> R18-FPN(64) student: KD at T = 1 with foreground
# and background RoIs averaged apart and weighted 2 / 2 (DeFeat's RoI head).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/kd-t1.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))
