# Results table, `ctkd-global-fgbg`: the `ctkd-global` cell on fg/bg KD
# (../faster-rcnn_r50-to-r18_fpn_ctkd-global-fgbg_cpu_shapes.py), the twin of
# `kd-fgbg`.
_base_ = ['./ctkd-global.py', '../../_base_/losses/kd-fgbg.py']

model = dict(distill_loss=dict(_base_.kd_loss, _delete_=True))
