# KD ablation, `ctkd-global-w0.0625`: `ctkd-global` with the KD weight 1/16.
_base_ = ['./ctkd-global.py']

model = dict(distill_loss=dict(loss_weight=0.0625))
