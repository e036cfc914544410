# One-stage teacher on the shapes set: RetinaNet, ResNet-50 + FPN(128 ch), wider
# head; same data, schedule, strides and anchors as the R18 student.
_base_ = [
    '../_base_/models/retinanet_r50_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(bbox_head=dict(num_classes=num_classes))
