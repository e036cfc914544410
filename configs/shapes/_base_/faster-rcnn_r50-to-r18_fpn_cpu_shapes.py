# Pairing on the shapes set: R50-FPN(128) teacher -> R18-FPN(64) student (the
# configs/shapes student), turned into a KDTwoStageDetector. The teacher checkpoint
# comes from training configs/shapes/faster-rcnn_r50_fpn_shapes.py (`make demo`
# does it and passes --cfg-options model.teacher_ckpt=...).
#
# Not trainable by itself: a method fragment (configs/_base_/methods/) adds the
# temperature, and each config next to `_base_/` sets `model.teacher_config`
# (a `{{ fileDirname }}` path names the folder of the file it is written in).
_base_ = [
    '../faster-rcnn_r18_fpn_shapes.py',
    '../../_base_/distill/kd_two_stage.py',
]

model = dict(_base_.kd_model, teacher_ckpt='work_dirs/shapes/teacher.pth')

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
