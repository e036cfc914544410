# Glyphs, R50 -> R18: CTKD, one learnable global T in [1, 21] from the authors'
# θ0 = 1 (T0 ≈ 15.6, the fragment's start for KD losses), on fg/bg KD
# (foreground and background RoIs averaged apart, 2 / 2): CTKD on the table's best
# loss. Its fixed-T twin is kd-fgbg (T = 1).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/ctkd-global.py',
    '../_base_/losses/kd-fgbg.py',
]
model = dict(
    temperature=_base_.kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))

# CPU changes, as on shapes: the curriculum λ 0 -> 1 over a third of the 12
# epochs, and 10x the base lr for the temperature (with Adam a step moves θ by
# about lr: 1e-3 would leave T near its start in a few hundred iterations).
custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
