# KD ablation, `kd-t4-sepfc`: `kd-t4` with a RoI box head whose classification and
# regression branches share no layer (2 FCs each, ConvFCBBoxHead) instead of
# mmdet's 2 shared FCs: does the KD term hurt box regression through the shared
# FCs?
_base_ = ['./kd-t4.py']

model = dict(roi_head=dict(bbox_head=dict(
    type='ConvFCBBoxHead', num_shared_convs=0, num_shared_fcs=0,
    num_cls_convs=0, num_cls_fcs=2, num_reg_convs=0, num_reg_fcs=2)))
