# Method fragment: a fixed temperature T = 1, the detection recipes' choice on RoI
# logits (Chen et al. 2017, DeFeat, mdistiller's detection DKD).
kd_temperature = dict(type='FixedTemperature', value=1.0)
