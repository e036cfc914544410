# Cascade R-CNN student baseline (no distillation) on the synthetic shapes set:
# ResNet-18 + FPN(64 ch) from scratch, 3 cascade stages, 12 epochs of AdamW
# (the Faster R-CNN student's data and schedule).
_base_ = [
    '../_base_/models/cascade-rcnn_r18_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(roi_head=dict(bbox_head=[
    dict(head, num_classes=num_classes)
    for head in _base_.model.roi_head.bbox_head
]))
