# Results table, `kd-t1`: as `kd-t4` at a fixed T = 1.
_base_ = ['./kd-t4.py']

model = dict(temperature=dict(type='FixedTemperature', value=1.0))
