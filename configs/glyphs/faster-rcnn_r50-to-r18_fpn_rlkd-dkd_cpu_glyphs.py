# Glyphs, R50 -> R18: RLKD's per-RoI temperature (a PPO agent) on DKD (alpha 1,
# beta 0.25), the loss that paid best on the dev split (docs/glyphs_dev_first_look.md).
# The agent's warm-up T and initial mean are DKD's fixed T = 1 (the twin, dkd), not
# the classification recipe's 4.
_base_ = [
    './_base_/faster-rcnn_r50-to-r18_fpn_cpu_glyphs.py',
    '../_base_/methods/rlkd.py',
    '../_base_/losses/dkd.py',
]
# CPU sizing as on shapes (configs/shapes/*_rlkd_cpu_shapes.py): updates every 8
# iterations (32 per epoch at batch 8 on 256 images), a larger PPO step, exploration
# over 10 updates, a reward-model FIFO of 2 rollouts.
kd_temperature = dict(
    _base_.kd_temperature,
    warmup_temperature=1.0,
    ppo=dict(
        _base_.kd_temperature.ppo,
        optimizer=dict(_base_.kd_temperature.ppo.optimizer, lr=1e-3)),
    decomposition=dict(_base_.kd_temperature.decomposition, buffer_size=16),
    exploration=dict(_base_.kd_temperature.exploration, updates=10))
model = dict(
    temperature=kd_temperature,
    distill_loss=dict(_base_.kd_loss, _delete_=True))

custom_hooks = [dict(_base_.custom_hooks[0], update_interval=8)]
