# Teacher for Mask R-CNN R101 -> R50: mmdet model zoo Mask R-CNN R101-FPN,
# multi-scale 3x, box AP 42.7 / mask AP 38.5. Only its bbox head's RoI logits
# are distilled (its mask head is loaded, as its checkpoint holds it, and unused).
# A local file, so `teacher_config` is a path that plain Config.fromfile reads too.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r101_fpn_ms-poly-3x_coco.py'
