# Glyphs, R50 -> R18: vanilla KD at a fixed T = 4 (the classification recipe).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/kd-t4.py',
]
model = dict(temperature=_base_.kd_temperature)
