# Shared base of every configs/ctkd config: a Faster R-CNN R50-FPN student on COCO
# (mmdet's `data/coco/` data config, 1x schedule: 12 epochs, LR steps at 8 and 11,
# SGD lr 0.02 for 8 GPUs x 2 images), turned into a KDTwoStageDetector.
#
# Not trainable by itself: a pairing base (student backbone + teacher) and a method
# fragment (temperature module) complete it, see the configs next to `_base_/`.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['ctkd_det'], allow_failed_imports=False)

model = dict(
    type='KDTwoStageDetector',
    # teacher_config / teacher_ckpt: set by the pairing base; the checkpoint is a
    # model-zoo URL, override with `--cfg-options model.teacher_ckpt=/path.pth`.
    # temperature: set by the method fragment (`model.temperature`).
    distill_loss=dict(type='KDLoss', loss_weight=1.0),
    eval_teacher=True)

# No weight decay on the temperature module's parameters (`temperature.*`; a no-op
# for FixedTemperature, which has none). Decay pulls θ toward 0, i.e. T toward the
# middle of [t_min, t_max]: a prior that the gradient-reversal layer does not
# reverse, so it fights the adversarial ascent that CTKD relies on. (The authors'
# classification code applies the student's 5e-4 to θ; we deliberately do not.)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))

# ctkd_det's run-time checks, as named default hooks: a dict, merged on inheritance
# (a `custom_hooks` list would be replaced by the CTKD fragments' list, and two
# `_base_` files of one config may not both define it):
# - DistillDataCheckHook: the datasets' classes must match the student's
#   num_classes, checked before the first iteration;
# - RngStateHook: RNG states in checkpoints, so `--resume` continues exactly.
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
