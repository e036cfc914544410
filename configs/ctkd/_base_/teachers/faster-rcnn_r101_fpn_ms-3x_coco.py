# Teacher for R101 -> R18 / R50: mmdet model zoo Faster R-CNN R101-FPN, multi-scale
# 3x, box AP 41.8 (the CTKD paper's R101 teacher, from ReviewKD, has 42.04).
# A local file because KDTwoStageDetector reads `teacher_config` with
# Config.fromfile, which does not resolve `mmdet::` paths itself (a `_base_` does).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py'
