# Teacher on the shapes set: Faster R-CNN, ResNet-50 + FPN(128 ch), wider RoI head;
# same data and schedule as the R18 student.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn_cpu.py',
    './_base_/shapes_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 4
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes)))
