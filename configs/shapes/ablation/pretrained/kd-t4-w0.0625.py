# KD ablation, `kd-t4-w0.0625`: `kd-t4` with the KD weight 1/16 = 1/T²: turns the
# T²-scaled term back into a plain KL at T = 4.
_base_ = ['./kd-t4.py']

model = dict(distill_loss=dict(loss_weight=0.0625))
