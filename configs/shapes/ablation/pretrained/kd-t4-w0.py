# KD ablation, `kd-t4-w0`: `kd-t4` with the KD weight 0: the teacher runs, its term
# is multiplied by 0; a control that must train like `none`.
_base_ = ['./kd-t4.py']

model = dict(distill_loss=dict(loss_weight=0.0))
