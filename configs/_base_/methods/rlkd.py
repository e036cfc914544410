# Method fragment: RLKD (Zhang et al. 2024, "Instance Temperature Knowledge
# Distillation"): a PPO agent gives one temperature per sampled RoI, T in [1, 21].
# Combine with a pairing base; the config sets `model.temperature=kd_temperature`.
#
# - warm-up: epoch 0 at a fixed T = 4, the classification KD recipe (kd-t4.py, the
#   `kd-t4` twin of the shapes table; our KD default, kd.py, is T = 1), also the
#   agent's initial mean temperature; the agent acts from epoch 1 on;
# - state per RoI: student top-1 prob., teacher top-1 prob., student top-1 - top-2
#   margin; reward: change of the student's foreground RoI accuracy (`acc_fg`, over
#   the sampled foreground RoIs of all GPUs) between successive iterations,
#   calibrated to RoIs by a learned return decomposition, fitted on the rollout's
#   batches and the previous rollout's (buffer_size 100 = 2 x update_interval);
# - PPO (actor and critic MLPs 256-256, clip .2) every 50 iterations (~146 updates
#   per epoch with 8 GPUs x 2 images), with its own Adam: the agent is outside the
#   detector's parameters and optim_wrapper; advantages: GAE over iterations
#   (gamma .99 / lambda .95), each RoI's own calibrated reward plus its iteration's
#   share of the future (docs/rlkd.md); log sigma smoothly bounded in [-5, 1];
# - exploration: the first 100 updates learn from a share of the RoIs that grows
#   from the best 25% (well-assigned foreground the teacher gets right) to all.
kd_temperature = dict(
    type='RLTemperature',
    t_min=1.0,
    t_max=21.0,
    warmup_temperature=4.0,
    hidden_dims=(256, 256),
    log_std_init=-0.5,
    ppo=dict(
        gamma=0.99,
        gae_lambda=0.95,
        clip_ratio=0.2,
        ppo_epochs=4,
        num_minibatches=4,
        value_coef=0.5,
        entropy_coef=1e-3,
        max_grad_norm=0.5,
        optimizer=dict(type='Adam', lr=3e-4)),
    decomposition=dict(
        hidden_dims=(64, 64),
        buffer_size=100,
        steps=10,
        optimizer=dict(type='Adam', lr=1e-3)),
    exploration=dict(start_fraction=0.25, updates=100, background_weight=0.5))

custom_hooks = [
    dict(
        type='RLTemperatureHook',
        warmup_epochs=1,
        update_interval=50,
        reward_key='acc_fg',
        reward_scale=1.0)
]
