# Glyphs, R50 -> R18: CTKD, one T per RoI (as ctkd-instance), on DKD (alpha 1,
# beta 0.25).
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/ctkd-instance.py',
    '../_base_/losses/dkd.py',
]

# the fragment's temperature, CPU-sized: 30 logit columns, a smaller MLP
# (redefined: the helper stays equal to model.temperature)
kd_temperature = dict(
    _base_.kd_temperature, num_classes=_base_.num_logits, hidden_dims=(64, 64))
model = dict(
    temperature=kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))

# CPU changes, as on shapes: the curriculum λ 0 -> 1 over a third of the 12
# epochs, and 10x the base lr for the temperature (with Adam a step moves θ by
# about lr: 1e-3 would leave T near its start in a few hundred iterations).
custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
