# The distillation detector for one-stage (dense) students, whatever the data
# set: KDSingleStageDetector with the KD loss on the dense head's per-location
# class logits (all FPN levels, all anchors / points) and the teacher kept in
# eval mode. Inherits nothing; used like kd_two_stage.py (a `kd_model` helper
# next to the student base: `model = dict(_base_.kd_model, ...)`).
#
# The loss follows the student's classifier (checked when the model is built):
# RetinaNet / FCOS / ATSS / GFL classify with sigmoids (focal / quality-focal
# loss), so the KD term is SigmoidKDLoss: a per-class binary KL at T, T², one
# row per location, weighted by the teacher's top class score max_c σ(t_c) and
# averaged with those weights (`location_weight='teacher_score'`; 'uniform' is
# the plain mean over all locations). A softmax dense head takes
# `distill_loss=dict(type='KDLoss')` instead.
#
# The configs using it also set the temperature's optimiser rule (no decay) and
# the run-time check hooks, as the two-stage configs do.
kd_model = dict(
    type='KDSingleStageDetector',
    distill_loss=dict(
        type='SigmoidKDLoss', loss_weight=1.0, location_weight='teacher_score'),
    eval_teacher=True)
