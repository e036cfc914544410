# Results table, `kd-t2`: as `kd-t4` at a fixed T = 2.
_base_ = ['./kd-t4.py']

model = dict(temperature=dict(type='FixedTemperature', value=2.0))
