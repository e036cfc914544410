# Glyphs, R50 -> R18: CTKD, one learnable global T in [1, 21] from the authors'
# θ0 = 1 (T0 ≈ 15.6, the fragment's start for KD losses), on fg/bg KD
# (foreground and background RoIs averaged apart, 2 / 2): CTKD on the table's best
# loss. The ctkd-global config (its CPU curriculum and θ lr) with the fg/bg loss.
# Its fixed-T twin is kd-fgbg (T = 1).
_base_ = [
    './faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_glyphs.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(distill_loss=dict(_base_.kd_loss, _delete_=True))
