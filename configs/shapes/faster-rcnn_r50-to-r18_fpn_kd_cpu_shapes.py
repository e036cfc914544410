# Vanilla KD on the shapes set: R50-FPN(128) teacher -> R18-FPN(64) student, fixed
# T = 4, KD on the RoI head's class logits (background included).
# The teacher checkpoint comes from training configs/shapes/faster-rcnn_r50_fpn_shapes.py
# (`make demo` does it and passes --cfg-options model.teacher_ckpt=...).
_base_ = ['./faster-rcnn_r18_fpn_shapes.py']

model = dict(
    type='KDTwoStageDetector',
    teacher_config='{{ fileDirname }}/faster-rcnn_r50_fpn_shapes.py',
    teacher_ckpt='work_dirs/shapes/teacher.pth',
    temperature=dict(type='FixedTemperature', value=4.0),
    distill_loss=dict(type='KDLoss', loss_weight=1.0),
    eval_teacher=True)

# Temperature parameters get no weight decay: decay pulls the pre-sigmoid θ toward 0,
# i.e. T toward the middle of [t_min, t_max], a prior that the gradient reversal does
# not reverse and that works against the adversarial ascent. (The CTKD authors'
# classification code gives them the student's decay; we deliberately do not.)
# A no-op for FixedTemperature, kept here so every method shares one optimiser setup.
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'temperature': dict(decay_mult=0.0)}))

# ctkd_det's run-time checks, as named default hooks (a dict: merged on inheritance,
# so configs that set their own `custom_hooks` list, like the CTKD ones, keep them):
# - DistillDataCheckHook: the datasets' classes must match the student's
#   num_classes, checked before the first iteration;
# - RngStateHook: RNG states in checkpoints, so `--resume` continues exactly.
default_hooks = dict(
    distill_data_check=dict(type='DistillDataCheckHook'),
    rng_state=dict(type='RngStateHook'))
