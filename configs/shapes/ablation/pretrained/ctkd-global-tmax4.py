# KD ablation, `ctkd-global-tmax4`: `ctkd-global` with its temperature bounded to
# [1, 4] instead of [1, 21] (θ₀ = 1 then starts it at T = 3.2 instead of 15.6).
_base_ = ['./ctkd-global.py']

model = dict(temperature=dict(t_max=4.0))
