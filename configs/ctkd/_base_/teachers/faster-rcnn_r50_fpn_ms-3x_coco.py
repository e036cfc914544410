# Teacher for R50 -> MobileNetV2: mmdet model zoo Faster R-CNN R50-FPN, multi-scale
# 3x, box AP 40.3 (the CTKD paper's R50 teacher, from ReviewKD, has 40.22).
# A local file, so `teacher_config` is a path that plain Config.fromfile reads too
# (it does not resolve `mmdet::` paths; a `_base_` does). KDTwoStageDetector would
# also take the `mmdet::` path itself (resolved with mmengine.hub.get_config).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_ms-3x_coco.py'
