# Teacher for R50 -> MobileNetV2: mmdet model zoo Faster R-CNN R50-FPN, multi-scale
# 3x, box AP 40.3 (the CTKD paper's R50 teacher, from ReviewKD, has 40.22).
# A local file because KDTwoStageDetector reads `teacher_config` with
# Config.fromfile, which does not resolve `mmdet::` paths itself (a `_base_` does).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py'
