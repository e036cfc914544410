# Cascade R-CNN teacher on the shapes set: ResNet-50 + FPN(128 ch), wider RoI
# heads, 3 cascade stages; same data and schedule as the R18 student.
_base_ = [
    '../_base_/models/cascade-rcnn_r50_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(roi_head=dict(bbox_head=[
    dict(head, num_classes=num_classes)
    for head in _base_.model.roi_head.bbox_head
]))
