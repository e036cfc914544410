# Teacher for R101 -> R18 / R50: mmdet model zoo Faster R-CNN R101-FPN, multi-scale
# 3x, box AP 41.8 (the CTKD paper's R101 teacher, from ReviewKD, has 42.04).
# A local file, so `teacher_config` is a path that plain Config.fromfile reads too
# (it does not resolve `mmdet::` paths; a `_base_` does). KDTwoStageDetector would
# also take the `mmdet::` path itself (resolved with mmengine.hub.get_config).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r101_fpn_ms-3x_coco.py'
