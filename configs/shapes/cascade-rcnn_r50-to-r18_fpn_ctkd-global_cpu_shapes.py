# Cascade R-CNN, CTKD with a global learnable temperature on the shapes set: the
# COCO method fragment (T in [1, 21]) on all 3 stages (one temperature shared by
# the stages; `s{i}.loss_kd` weighted 1 / 0.5 / 0.25 as the stages' own losses).
# CPU changes as the Faster R-CNN shapes config: the curriculum λ 0 -> 1 over 4
# epochs, θ's learning rate, and θ0 pinned to the authors' 1 (T0 ≈ 15.6, as its
# recorded runs; the fragment's default is θ0 = -4).
_base_ = [
    './_base_/cascade-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/ctkd-global.py',
]
# redefined: the helper stays equal to model.temperature
kd_temperature = dict(_base_.kd_temperature, init_value=1.0)
model = dict(
    teacher_config='{{ fileDirname }}/cascade-rcnn_r50_fpn_shapes.py',
    temperature=kd_temperature)

custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]

# θ learns with 10x the base lr (as in
# faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py, which says why)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
