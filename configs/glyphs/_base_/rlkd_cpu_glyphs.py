# Method fragment for the glyphs set: RLKD's per-RoI temperature
# (configs/_base_/methods/rlkd.py) sized for CPU as on shapes
# (configs/shapes/*_rlkd_cpu_shapes.py): updates every 8 iterations (32 per epoch
# at batch 8 on 256 images), a larger PPO step, exploration over 10 updates, a
# reward-model FIFO of 2 rollouts. The agent's warm-up T and initial mean are the
# detection T = 1 (the twins, dkd and kd-fgbg, run at T = 1), not the
# classification recipe's 4. Combine with the glyphs pairing and a loss fragment.
_base_ = ['../../_base_/methods/rlkd.py']

kd_temperature = dict(
    _base_.kd_temperature,
    warmup_temperature=1.0,
    ppo=dict(
        _base_.kd_temperature.ppo,
        optimizer=dict(_base_.kd_temperature.ppo.optimizer, lr=1e-3)),
    decomposition=dict(_base_.kd_temperature.decomposition, buffer_size=16),
    exploration=dict(_base_.kd_temperature.exploration, updates=10))

custom_hooks = [dict(_base_.custom_hooks[0], update_interval=8)]
