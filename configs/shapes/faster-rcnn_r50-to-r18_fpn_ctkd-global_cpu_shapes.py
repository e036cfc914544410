# CTKD with a global learnable temperature on the shapes set (the COCO method
# fragment: T in [1, 21], θ0 = 1). CPU changes: the curriculum λ 0 -> 1 over 4 epochs
# (a third of the 12-epoch schedule), and θ's learning rate.
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/ctkd-global.py',
]
model = dict(
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    temperature=_base_.kd_temperature)

custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]

# θ learns with 10x the base lr (AdamW 1e-3 -> 1e-2, no decay): with Adam a step
# moves θ by about lr whatever the gradient's size, and in a schedule of a few
# hundred iterations 1e-3 would leave T within ~±1 of its start.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
