# KD ablation, `kd-t4-w0.25`: `kd-t4` with the KD weight 1/4.
_base_ = ['./kd-t4.py']

model = dict(distill_loss=dict(loss_weight=0.25))
