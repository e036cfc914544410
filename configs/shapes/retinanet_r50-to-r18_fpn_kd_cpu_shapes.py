# Vanilla KD on the shapes set, one-stage: RetinaNet R50-FPN(128) teacher ->
# R18-FPN(64) student, fixed T = 8 (the COCO RetinaNet KD configs' fragment),
# SigmoidKDLoss on the dense head's class logits, teacher-score weighted.
_base_ = [
    './_base_/retinanet_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/kd-t8.py',
]
model = dict(
    teacher_config='{{ fileDirname }}/retinanet_r50_fpn_shapes.py',
    temperature=_base_.kd_temperature)
