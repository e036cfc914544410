# Shared base of the configs/ctkd RetinaNet configs: mmdet's RetinaNet R50-FPN
# student on COCO (`data/coco/`, 1x schedule: 12 epochs, LR steps at 8 and 11,
# SGD lr 0.01 for 8 GPUs x 2 images), turned into a KDSingleStageDetector.
#
# Not trainable by itself: a pairing base (student backbone + teacher) and a method
# fragment (temperature module) complete it, see the configs next to `_base_/`.
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    '../../_base_/distill/kd_single_stage.py',
]

custom_imports = dict(imports=['ctkd_det'], allow_failed_imports=False)

# teacher_config / teacher_ckpt: set by the pairing base; the checkpoint is a
# model-zoo URL, override with `--cfg-options model.teacher_ckpt=/path.pth`.
model = _base_.kd_model

# no decay on the temperature; ctkd_det's run-time checks (see kd_two_stage.py)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
