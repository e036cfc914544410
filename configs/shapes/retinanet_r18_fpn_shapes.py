# One-stage student baseline (no distillation) on the synthetic shapes set:
# RetinaNet, ResNet-18 + FPN(64 ch) from scratch, 12 epochs of AdamW; sized for
# CPU training (the schedule fragment explains how to override the epochs).
_base_ = [
    '../_base_/models/retinanet_r18_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(bbox_head=dict(num_classes=num_classes))
