# RLKD (Zhang et al. 2024, "Instance Temperature Knowledge Distillation") on the
# shapes set: a PPO agent picks one temperature per sampled RoI, T in [1, 21].
# Epoch 0 is a warm-up at the KD baseline's fixed T = 4 (the agent's initial mean
# temperature too, so T does not jump when it takes over); from epoch 1 the agent
# acts and is updated every 8 iterations (16 iterations per epoch at batch 8 on 128
# images: ~22 updates in 12 epochs). The reward is the change of the student's RoI
# classification accuracy (`acc`) between successive iterations.
# The agent is not part of the detector's parameters (its own Adam, driven by
# RLTemperatureHook; saved in checkpoints under `rl_temperature`).
_base_ = ['./faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py']

# The RLKD modules by name (registration by `ctkd_det` itself makes this redundant;
# harmless either way).
custom_imports = dict(
    imports=[
        'ctkd_det', 'ctkd_det.models.temperature.rl_temperature',
        'ctkd_det.engine.hooks.rl_temperature_hook'
    ],
    allow_failed_imports=False)

model = dict(
    temperature=dict(
        _delete_=True,
        type='RLTemperature',
        t_min=1.0,
        t_max=21.0,
        warmup_temperature=4.0,
        hidden_dims=(256, 256),
        log_std_init=-0.5,
        # few updates in a CPU run: a larger step than the COCO configs' 3e-4
        ppo=dict(
            gamma=0.99, gae_lambda=0.95, clip_ratio=0.2, ppo_epochs=4,
            num_minibatches=4, value_coef=0.5, entropy_coef=1e-3,
            max_grad_norm=0.5, optimizer=dict(type='Adam', lr=1e-3)),
        decomposition=dict(
            hidden_dims=(64, 64), buffer_size=32, steps=10,
            optimizer=dict(type='Adam', lr=1e-3)),
        # the first updates learn from the best quarter of the RoIs (well-assigned
        # foreground the teacher gets right first), all RoIs after 10 updates
        exploration=dict(start_fraction=0.25, updates=10,
                         background_weight=0.5)))

# (The KD base registers its run-time checks as default_hooks, so this list is
# the only custom hook.)
custom_hooks = [
    dict(type='RLTemperatureHook', warmup_epochs=1, update_interval=8,
         reward_key='acc_fg', reward_scale=1.0)
]
