# KD ablation, `none-sepfc`: the student alone with `kd-t4-sepfc`'s box head (no
# FC shared by the classification and regression branches).
_base_ = ['./none.py']

model = dict(roi_head=dict(bbox_head=dict(
    type='ConvFCBBoxHead', num_shared_convs=0, num_shared_fcs=0,
    num_cls_convs=0, num_cls_fcs=2, num_reg_convs=0, num_reg_fcs=2)))
