# Loss fragment: Decoupled KD on the RoI logits (Zhao et al., CVPR 2022), as
# mdistiller's detection recipe: alpha 1 (target vs rest), beta 0.25 (non-target
# distribution), the sampled RoI's label as target (background = C). Combine with a
# pairing and a temperature fragment; the config sets `model.distill_loss=kd_loss`.
kd_loss = dict(type='DKDLoss', alpha=1.0, beta=0.25, loss_weight=1.0)
