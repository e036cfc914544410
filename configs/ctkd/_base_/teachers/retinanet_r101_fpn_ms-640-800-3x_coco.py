# Teacher for RetinaNet R101 -> R50: mmdet model zoo RetinaNet R101-FPN,
# multi-scale 640-800 3x, box AP 41.0 (same head, anchors and strides as the
# R50 student). A local file, so `teacher_config` is a path that plain
# Config.fromfile reads too (see faster-rcnn_r101_fpn_ms-3x_coco.py).
_base_ = 'mmdet::retinanet/retinanet_r101_fpn_ms-640-800-3x_coco.py'
