# CTKD with a global learnable temperature (one scalar T in [1, 21], θ0 = 1, as in
# the authors' code), adversarial through gradient reversal, with the cosine
# curriculum λ: 0 -> 1 over the first 4 epochs (a third of the 12-epoch schedule;
# the authors ramp over 10 of 240 CIFAR epochs, which would leave no curriculum in
# a schedule this short).
_base_ = ['./faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py']

model = dict(
    temperature=dict(
        _delete_=True, type='GlobalTemperature', t_min=1.0, t_max=21.0,
        init_value=1.0))

custom_hooks = [
    dict(type='CurriculumTemperatureHook', lambda_min=0.0, lambda_max=1.0,
         loops=4, by_epoch=True)
]

# θ learns with 10x the base lr (AdamW 1e-3 -> 1e-2, no decay): with Adam a step
# moves θ by about lr whatever the gradient's size, and in a schedule of a few
# hundred iterations 1e-3 would leave T within ~±1 of its start.
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'temperature': dict(decay_mult=0.0, lr_mult=10.0)}))
