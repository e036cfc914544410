# Method fragment: CTKD, instance-wise temperature (one T per RoI from an MLP over
# the teacher and student logits), T in [1, 21]. num_classes is the number of logit
# columns: COCO's 80 classes + background = 81. Combine with a pairing base; the
# config sets `model.temperature=kd_temperature`.
_base_ = './ctkd_curriculum.py'  # curriculum hook (λ 0 -> 1 over 6 epochs)

kd_temperature = dict(
    type='InstanceTemperature',
    num_classes=81,
    hidden_dims=(256, 128),
    t_min=1.0,
    t_max=21.0)
