"""The RLKD temperature agent (Zhang et al. 2024, "Instance Temperature Knowledge
Distillation"): state features, PPO actor-critic, instance reward calibration, and
the agent that ties them to a rollout."""
from .agent import RLKDAgent
from .features import STATE_DIM, instance_quality, instance_state
from .ppo import (ActorCritic, PPOAgent, clipped_surrogate, gaussian_log_prob,
                  iteration_gae, log_abs_det_jacobian, temperature_log_prob)
from .reward_decomposition import RewardDecomposition

__all__ = [
    'STATE_DIM', 'instance_state', 'instance_quality', 'ActorCritic', 'PPOAgent',
    'iteration_gae', 'clipped_surrogate', 'gaussian_log_prob',
    'log_abs_det_jacobian', 'temperature_log_prob', 'RewardDecomposition', 'RLKDAgent'
]
