# Method fragment: a fixed temperature T = 2, the GFL KD configs' choice for the
# quality-focal class logits (the value issue #12 cites from LD for GFL; not
# tuned here). Combine with a pairing base; the config sets
# `model.temperature=kd_temperature`.
kd_temperature = dict(type='FixedTemperature', value=2.0)
