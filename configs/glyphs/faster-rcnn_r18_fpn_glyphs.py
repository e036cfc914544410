# Student baseline (no distillation) on the glyphs set: the shapes student's model
# and schedule (configs/_base_/models, configs/_base_/schedules) on the glyphs data.
_base_ = [
    '../_base_/models/faster-rcnn_r18_fpn_cpu.py',
    './_base_/glyphs_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 29  # len(ctkd_det.datasets.glyphs.GLYPHS_CLASSES), checked by tests
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes)))
