# Vanilla KD on the shapes set: R50-FPN(128) teacher -> R18-FPN(64) student, fixed
# T = 4 (the classification recipe, ../_base_/methods/kd-t4.py; the KD default is
# T = 1), KD on the RoI head's class logits (background included).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/kd-t4.py',
]
model = dict(
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    temperature=_base_.kd_temperature)
