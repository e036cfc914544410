# Method fragment: CTKD's global temperature (./ctkd-global.py) started near the
# detection T = 1: θ0 = -4, T0 = 1 + 20·σ(-4) ≈ 1.36. The start for DKD, decided
# on the glyphs dev split (CTKD global + DKD, seed 0: 5.7 dev mAP against 4.2 from
# θ0 = 1; docs/glyphs/README.md). On KD the same check chose θ0 = 1.
_base_ = './ctkd-global.py'

kd_temperature = dict(_base_.kd_temperature, init_value=-4.0)
