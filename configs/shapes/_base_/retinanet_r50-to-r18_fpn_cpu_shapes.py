# One-stage pairing on the shapes set: RetinaNet R50-FPN(128) teacher -> R18-FPN(64)
# student (the configs/shapes RetinaNet student), turned into a
# KDSingleStageDetector. The teacher checkpoint comes from training
# configs/shapes/retinanet_r50_fpn_shapes.py (pass it with --cfg-options
# model.teacher_ckpt=... or train it into work_dirs/shapes/retinanet_teacher.pth).
#
# Not trainable by itself: a method fragment (configs/_base_/methods/) adds the
# temperature, and each config next to `_base_/` sets `model.teacher_config`.
_base_ = [
    '../retinanet_r18_fpn_shapes.py',
    '../../_base_/distill/kd_single_stage.py',
]

model = dict(_base_.kd_model,
             teacher_ckpt='work_dirs/shapes/retinanet_teacher.pth')

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
