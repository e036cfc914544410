# KD ablation, `kd-t1`: `kd-t4` at a fixed T = 1 (the KD term ~10x smaller).
_base_ = ['./kd-t4.py']

model = dict(temperature=dict(type='FixedTemperature', value=1.0))
