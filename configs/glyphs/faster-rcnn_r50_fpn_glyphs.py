# Teacher on the glyphs set: the shapes teacher's model (R50-FPN(128 ch), wider RoI
# head) and schedule on the glyphs data; same data and schedule as the R18 student.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn_cpu.py',
    './_base_/glyphs_detection.py',
    '../_base_/schedules/adamw_12e_cpu.py',
]

num_classes = 29  # len(ctkd_det.datasets.glyphs.GLYPHS_CLASSES), checked by tests
model = dict(roi_head=dict(bbox_head=dict(num_classes=num_classes)))
