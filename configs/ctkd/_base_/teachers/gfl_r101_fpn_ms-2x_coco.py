# Teacher for GFL R101 -> R18: mmdet model zoo GFL R101-FPN, multi-scale 2x,
# box AP 44.7 (LD's GFL teacher; same head, one anchor per location and strides
# as the student). A local file, so `teacher_config` is a path that plain
# Config.fromfile reads too (see faster-rcnn_r101_fpn_ms-3x_coco.py).
_base_ = 'mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py'
