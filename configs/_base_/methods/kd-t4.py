# Method fragment: a fixed temperature T = 4, the classification recipe (Hinton et
# al.; CTKD's and RLKD's image-classification baselines). Not our KD default
# (./kd.py is T = 1, the detection recipe): the shapes and glyphs `kd-t4` runs use
# it explicitly. Combine with a pairing base; the config sets
# `model.temperature=kd_temperature`.
kd_temperature = dict(type='FixedTemperature', value=4.0)
