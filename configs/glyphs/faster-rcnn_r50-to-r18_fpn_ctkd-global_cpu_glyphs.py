# Glyphs, R50 -> R18: CTKD, one learnable global T in [1, 21], on KD; θ0 from
# the method fragment (the authors' 1, T0 ≈ 15.6: on KD the glyphs dev split
# chose it over -4).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/ctkd-global.py',
]
model = dict(temperature=_base_.kd_temperature)

# CPU changes, as on shapes: the curriculum λ 0 -> 1 over a third of the 12
# epochs, and 10x the base lr for the temperature (with Adam a step moves θ by
# about lr: 1e-3 would leave T near its start in a few hundred iterations).
custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
