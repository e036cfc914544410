# Method fragment: CTKD, one learnable global temperature, T in [1, 21], θ init 1
# (the authors' defaults). Combine with a pairing base; the config sets
# `model.temperature=kd_temperature`.
_base_ = './ctkd_curriculum.py'  # curriculum hook (λ 0 -> 1 over 6 epochs)

kd_temperature = dict(
    type='GlobalTemperature', t_min=1.0, t_max=21.0, init_value=1.0)
