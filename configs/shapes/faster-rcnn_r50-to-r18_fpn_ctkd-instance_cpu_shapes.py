# CTKD with instance-wise temperatures on the shapes set (the COCO method fragment:
# an MLP gives one T per RoI in [1, 21]). CPU changes: the logits have 4 classes +
# background = 5 columns, a smaller MLP, the global-T config's curriculum
# (4 epochs) and 10x learning rate for the temperature, and the authors' θ0 = 1
# (T0 ≈ 15.6; the fragment's default is θ0 = -4): the published shapes table ran
# from it.
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_shapes.py',
    '../_base_/methods/ctkd-instance.py',
]
# the fragment's temperature, CPU-sized (redefined: the helper stays equal to
# model.temperature)
kd_temperature = dict(
    _base_.kd_temperature, num_classes=5, hidden_dims=(64, 64), init_value=1.0)
model = dict(
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    temperature=kd_temperature)

custom_hooks = [dict(_base_.custom_hooks[0], loops=4)]
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(lr_mult=10.0)}))
