# Loss fragment: KD with foreground and background RoIs averaged apart and
# weighted 2 / 2 (DeFeat's RoI-head distillation). Combine with a pairing and a
# temperature fragment; the config sets `model.distill_loss=kd_loss`.
kd_loss = dict(type='KDLoss', fg_weight=2.0, bg_weight=2.0, loss_weight=1.0)
