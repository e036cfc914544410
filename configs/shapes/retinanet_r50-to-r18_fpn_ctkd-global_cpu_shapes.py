# CTKD with a global learnable temperature on the shapes set, one-stage
# (RetinaNet R50 -> R18; the COCO method fragment: T in [1, 21], θ0 pinned to the
# authors' 1 as the dense-head COCO configs and its recorded runs). CPU changes
# as for the Faster R-CNN shapes config: the curriculum λ 0 -> 1 over 4 epochs,
# and θ's learning rate (10x).
_base_ = [
    './_base_/retinanet_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/ctkd-global.py',
]
# redefined: the helper stays equal to model.temperature
kd_temperature = dict(_base_.kd_temperature, init_value=1.0)
model = dict(
    teacher_config='{{ fileDirname }}/retinanet_r50_fpn_shapes.py',
    temperature=kd_temperature)

custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
