# Shapes, R50-FPN(128) teacher -> R18-FPN(64) student: CTKD's global T (the
# shapes CTKD-global config: θ0 = 1, T0 ≈ 15.6, its CPU curriculum and θ lr) on
# fg/bg KD (foreground and background RoIs averaged apart, 2 / 2): the glyphs
# table's best method, checked where classification is easy. Its fixed-T twin
# is kd-fgbg (T = 1).
_base_ = [
    './faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(distill_loss=dict(_base_.kd_loss, _delete_=True))
