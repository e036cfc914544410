# Method fragment: vanilla KD, a fixed temperature (no curriculum hook needed).
# Combine with a pairing base; the config sets `model.temperature=kd_temperature`.
kd_temperature = dict(type='FixedTemperature', value=4.0)
