# The distillation detector, whatever the data set: KDTwoStageDetector with the KD
# loss on the RoI head's class logits and the teacher kept in eval mode. Inherits
# nothing (no data, schedule or student).
#
# A helper variable, not `model`: mmengine refuses one key in two `_base_` files of
# a config, and the student's bases define `model`. Next to the student base, a
# config writes `model = dict(_base_.kd_model, ...)` (merged into the student's
# model); the pairing adds teacher_config / teacher_ckpt, a method fragment
# (configs/_base_/methods/) the temperature. As a ctkd_det-typed dict, the helper
# is dropped by tools/export_student.py, like `kd_temperature`.
# The fragments next to this file (kd.py, ctkd-global.py, ctkd-instance.py,
# rlkd.py) are this helper with a method's temperature and hooks, ready for a
# user's own student config: `_base_ = [student, 'ctkd_det::_base_/distill/<m>.py']`.
#
# The same config also sets, itself (as untyped helpers they would stay behind in
# exported student configs):
# - optim_wrapper.paramwise_cfg.custom_keys: {'temperature': decay_mult=0}. Decay
#   pulls θ toward 0, i.e. T toward the middle of [t_min, t_max]: a prior that the
#   gradient-reversal layer does not reverse, so it fights the adversarial ascent
#   CTKD relies on. (The authors' classification code applies the student's decay
#   to θ; we deliberately do not.) A no-op for temperatures without parameters.
# - default_hooks (a dict, merged on inheritance; a `custom_hooks` list would be
#   replaced by the method fragments' lists) distill_data_check:
#   DistillDataCheckHook (the datasets' classes must match the student's
#   num_classes, checked before the first iteration) and rng_state: RngStateHook
#   (RNG states in checkpoints, so `--resume` continues exactly).
kd_model = dict(
    type='KDTwoStageDetector',
    distill_loss=dict(type='KDLoss', loss_weight=1.0),
    eval_teacher=True)
