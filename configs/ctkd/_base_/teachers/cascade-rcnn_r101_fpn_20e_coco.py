# Teacher for Cascade R-CNN R101 -> R50: mmdet model zoo Cascade R-CNN R101-FPN,
# 20 epochs, box AP 42.5 (the zoo's strongest plain Cascade R-CNN R101-FPN; it has
# no multi-scale 3x one). Same 3 stages and 80 classes as the student.
# A local file, so `teacher_config` is a path that plain Config.fromfile reads too.
_base_ = 'mmdet::cascade_rcnn/cascade-rcnn_r101_fpn_20e_coco.py'
