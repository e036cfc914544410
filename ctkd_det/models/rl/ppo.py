"""PPO actor-critic whose continuous action is a distillation temperature.

Policy: for a state ``s`` the actor gives a mean ``mu(s)``; a learned,
state-independent ``log_std`` gives ``sigma``. The agent samples the *pre-squash*
action ``u = mu + sigma * eps`` (``eps ~ N(0, 1)``) and acts with

    T = t_min + (t_max - t_min) * sigmoid(u)          (in [t_min, t_max])

Log-probabilities are those of ``u`` under ``N(mu, sigma)`` — the sample that was
drawn — not, as in the authors' code, the Gaussian density evaluated at the
squashed value. The density of ``T`` itself is, by change of variables,

    log p(T) = log N(u; mu, sigma) - log |dT/du|,
    log |dT/du| = log(t_max - t_min) + log sigmoid(u) + log sigmoid(-u).

The Jacobian term depends on ``u`` only, not on the policy parameters, so in the
PPO ratio ``p_new(T) / p_old(T) = N(u; mu_new, sigma_new) / N(u; mu_old, sigma_old)``
it cancels: PPO uses the Gaussian log-probabilities of ``u`` directly.
It does *not* cancel in the entropy: ``H[T] = H[u] + E[log |dT/du|]``; the second
term rewards pushing ``u`` toward 0 (``T`` toward the middle of the range) whatever
the reward says, so the entropy bonus here is the Gaussian's, ``H[u]`` (a function of
``sigma`` only, it just keeps the exploration noise from collapsing).
:func:`temperature_log_prob` gives the full ``log p(T)`` for analysis and tests.

Advantages: GAE (``gamma = 0.99``, ``lambda = 0.95`` as in the paper) over the
rollout's instances in the order they were acted on, bootstrapped with the last
instance's value. Losses: clipped surrogate (``clip = 0.2``), value MSE, entropy
bonus; actor and critic are separate MLPs (256 hidden, as the paper) trained by one
optimizer that belongs to the agent (not to the detector).
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.registry import OPTIMIZERS

from ctkd_det.models.temperature.bounds import (check_bounds, squash, unsquash,
                                                unsquash_value)
from ctkd_det.utils.dist import broadcast_module, synced_step, world_size

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


# -- the densities of the squashed policy ---------------------------------------
def log_abs_det_jacobian(u: torch.Tensor, t_min: float,
                         t_max: float) -> torch.Tensor:
    """``log |dT/du|`` of :func:`squash`."""
    return math.log(t_max - t_min) + F.logsigmoid(u) + F.logsigmoid(-u)


def gaussian_log_prob(u: torch.Tensor, mu: torch.Tensor,
                      log_std: torch.Tensor) -> torch.Tensor:
    """``log N(u; mu, exp(log_std))``, elementwise."""
    return -0.5 * ((u - mu) * torch.exp(-log_std)).pow(2) - log_std - \
        _LOG_SQRT_2PI


def temperature_log_prob(t: torch.Tensor, mu: torch.Tensor,
                         log_std: torch.Tensor, t_min: float,
                         t_max: float) -> torch.Tensor:
    """``log p(T)`` of the squashed policy (change of variables)."""
    u = unsquash(t, t_min, t_max)
    return gaussian_log_prob(u, mu, log_std) - log_abs_det_jacobian(
        u, t_min, t_max)


# -- GAE -----------------------------------------------------------------------
@torch.no_grad()
def compute_gae(rewards: torch.Tensor, values: torch.Tensor, last_value: float,
                gamma: float, lam: float):
    """Generalised advantage estimation over one sequence.

    ``delta_i = r_i + gamma V_{i+1} - V_i`` (``V_n = last_value``),
    ``A_i = delta_i + gamma lam A_{i+1}``, returns ``A + V``. Runs on the CPU in
    float64 (a Python loop: sequences are ~1e4-1e5 long, a few ms); results come
    back on the input device as float32.
    """
    device = rewards.device
    r = rewards.detach().double().cpu().tolist()
    v = values.detach().double().cpu().tolist()
    n = len(r)
    adv = [0.0] * n
    next_value, running = float(last_value), 0.0
    for i in range(n - 1, -1, -1):
        delta = r[i] + gamma * next_value - v[i]
        running = delta + gamma * lam * running
        adv[i] = running
        next_value = v[i]
    adv_t = torch.tensor(adv, dtype=torch.float64)
    ret_t = adv_t + torch.tensor(v, dtype=torch.float64)
    return adv_t.float().to(device), ret_t.float().to(device)


# -- networks ------------------------------------------------------------------
def _mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int) -> nn.Sequential:
    layers, d = [], in_dim
    for h in hidden_dims:
        layers += [nn.Linear(d, int(h)), nn.ReLU()]
        d = int(h)
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Separate actor and critic MLPs (``hidden_dims`` = (256, 256) as the paper)
    and a state-independent ``log_std``.

    The actor's last layer starts with zero weights and bias ``init_mean``: every
    state starts at the same mean action (the warm-up temperature, so switching
    the agent on does not jump ``T``).
    """

    def __init__(self, state_dim: int, hidden_dims: Sequence[int] = (256, 256),
                 init_mean: float = 0.0, log_std_init: float = -0.5):
        super().__init__()
        self.actor = _mlp(state_dim, hidden_dims, 1)
        self.critic = _mlp(state_dim, hidden_dims, 1)
        nn.init.zeros_(self.actor[-1].weight)
        nn.init.constant_(self.actor[-1].bias, float(init_mean))
        self.log_std = nn.Parameter(torch.tensor([float(log_std_init)]))

    def forward(self, states: torch.Tensor):
        """``mu`` ``(N,)``, ``value`` ``(N,)``."""
        return self.actor(states)[:, 0], self.critic(states)[:, 0]


# -- the agent -----------------------------------------------------------------
class PPOAgent(nn.Module):
    """Actor-critic + its own optimizer + the PPO update.

    Args:
        state_dim: state features per instance (3, see ``features.py``).
        hidden_dims: hidden widths of the actor and of the critic MLPs.
        t_min, t_max: temperature range of :func:`squash`.
        init_temperature: the policy's initial mean temperature (every state).
        log_std_init: initial ``log sigma`` of the pre-squash Gaussian.
        log_std_bounds: ``log sigma`` is clamped into this range when used.
        gamma, gae_lambda: GAE discount and trace parameters.
        clip_ratio: PPO's clipping of ``pi_new / pi_old``.
        ppo_epochs: passes over the rollout per update.
        num_minibatches: minibatches per pass (a fixed count, so every rank
            takes the same number of optimizer steps under DDP).
        value_coef, entropy_coef: weights of the value loss and entropy bonus.
        max_grad_norm: gradient clipping of each step (``None``: off).
        optimizer: optimizer config (mmengine ``OPTIMIZERS``), e.g.
            ``dict(type='Adam', lr=3e-4)``; built over the agent's parameters only.
    """

    def __init__(self,
                 state_dim: int = 3,
                 hidden_dims: Sequence[int] = (256, 256),
                 t_min: float = 1.0,
                 t_max: float = 21.0,
                 init_temperature: float = 4.0,
                 log_std_init: float = -0.5,
                 log_std_bounds: Sequence[float] = (-5.0, 1.0),
                 gamma: float = 0.99,
                 gae_lambda: float = 0.95,
                 clip_ratio: float = 0.2,
                 ppo_epochs: int = 4,
                 num_minibatches: int = 4,
                 value_coef: float = 0.5,
                 entropy_coef: float = 1e-3,
                 max_grad_norm: Optional[float] = 0.5,
                 optimizer: dict = dict(type='Adam', lr=3e-4)):
        super().__init__()
        t_min, t_max = check_bounds(t_min, t_max, 'PPOAgent')
        if not (t_min < init_temperature < t_max):
            raise ValueError(
                f'PPOAgent: init_temperature must lie strictly inside (t_min, '
                f't_max) = ({t_min}, {t_max}), got {init_temperature}')
        if not (0 <= gamma <= 1 and 0 <= gae_lambda <= 1 and clip_ratio > 0):
            raise ValueError('PPOAgent: need 0 <= gamma, gae_lambda <= 1 and '
                             'clip_ratio > 0')
        if int(ppo_epochs) < 1 or int(num_minibatches) < 1:
            raise ValueError('PPOAgent: ppo_epochs and num_minibatches must be >= 1')
        self.t_min, self.t_max = t_min, t_max
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.clip_ratio = float(clip_ratio)
        self.ppo_epochs, self.num_minibatches = int(ppo_epochs), int(num_minibatches)
        self.value_coef, self.entropy_coef = float(value_coef), float(entropy_coef)
        self.max_grad_norm = max_grad_norm
        self.log_std_bounds = (float(log_std_bounds[0]), float(log_std_bounds[1]))
        init_mean = unsquash_value(init_temperature, t_min, t_max)
        self.net = ActorCritic(state_dim, hidden_dims, init_mean, log_std_init)
        self.optimizer = OPTIMIZERS.build(
            dict(optimizer, params=self.net.parameters()))
        self.num_updates = 0

    # -- acting ----------------------------------------------------------------
    def log_std(self) -> torch.Tensor:
        return self.net.log_std.clamp(*self.log_std_bounds)

    @torch.no_grad()
    def act(self, states: torch.Tensor, deterministic: bool = False) -> dict:
        """Sample per-instance actions. Returns ``temperature`` ``(N,)`` (what the
        KD loss uses), ``action`` ``(N,)`` (the pre-squash sample ``u``),
        ``log_prob`` ``(N,)`` = ``log N(u; mu, sigma)`` and ``value`` ``(N,)``."""
        mu, value = self.net(states)
        log_std = self.log_std().expand_as(mu)
        if deterministic:
            u = mu.clone()
        else:
            u = mu + log_std.exp() * torch.randn_like(mu)
        return dict(temperature=squash(u, self.t_min, self.t_max), action=u,
                    log_prob=gaussian_log_prob(u, mu, log_std), value=value,
                    mean=mu)

    def evaluate(self, states: torch.Tensor, actions: torch.Tensor):
        """``log N(u; mu(s), sigma)``, ``V(s)`` and the Gaussian entropy, with
        gradients (for the update)."""
        mu, value = self.net(states)
        log_std = self.log_std().expand_as(mu)
        entropy = (0.5 + _LOG_SQRT_2PI + log_std)
        return gaussian_log_prob(actions, mu, log_std), value, entropy

    # -- learning --------------------------------------------------------------
    def update(self, states: torch.Tensor, actions: torch.Tensor,
               log_probs: torch.Tensor, values: torch.Tensor,
               rewards: torch.Tensor, last_value: Optional[float] = None,
               pool: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Dict[str, float]:
        """One PPO update on a rollout (one sequence of ``n`` transitions).

        Args:
            states ``(n, d)``, actions ``(n,)`` (pre-squash ``u``), log_probs
            ``(n,)`` (behaviour policy's ``log N(u)``), values ``(n,)`` (critic at
            acting time), rewards ``(n,)``.
            last_value: bootstrap value after the last transition (default: the
                last transition's value).
            pool: indices of the transitions that enter the losses (the
                exploration focus); advantages are computed on the whole sequence.
                Default: all.

        Collective under DDP (see ``ctkd_det.utils.dist``): every rank must call it.
        """
        n = int(states.size(0))
        if n:
            if last_value is None:
                last_value = float(values[-1])
            adv, ret = compute_gae(rewards, values, last_value, self.gamma,
                                   self.gae_lambda)
        else:
            adv = ret = rewards.new_zeros(0)
        if pool is None:
            pool = torch.arange(n, device=states.device)
        pool = pool.to(states.device).long()
        if pool.numel() > 1:
            a = adv[pool]
            adv = adv.clone()
            adv[pool] = (a - a.mean()) / (a.std() + 1e-8)
        params = list(self.net.parameters())
        sums = dict(policy_loss=0., value_loss=0., entropy=0., approx_kl=0.,
                    clip_fraction=0.)
        steps = 0
        for _ in range(self.ppo_epochs):
            perm = pool[torch.randperm(pool.numel(), generator=generator)
                        .to(pool.device)] if pool.numel() else pool
            for idx in perm.tensor_split(self.num_minibatches):
                if not idx.numel() and world_size() <= 1:
                    continue  # nothing to learn from, nobody to wait for
                self.optimizer.zero_grad(set_to_none=False)
                if idx.numel():
                    logp, v, ent = self.evaluate(states[idx], actions[idx])
                    log_ratio = logp - log_probs[idx]
                    ratio = log_ratio.exp()
                    a = adv[idx]
                    surr = torch.min(
                        ratio * a,
                        ratio.clamp(1 - self.clip_ratio, 1 + self.clip_ratio) * a)
                    policy_loss = -surr.mean()
                    value_loss = 0.5 * (v - ret[idx]).pow(2).mean()
                    entropy = ent.mean()
                    loss = policy_loss + self.value_coef * value_loss - \
                        self.entropy_coef * entropy
                    with torch.no_grad():
                        sums['policy_loss'] += float(policy_loss)
                        sums['value_loss'] += float(value_loss)
                        sums['entropy'] += float(entropy)
                        # k3 estimator of KL(old || new), always >= 0
                        sums['approx_kl'] += float(
                            ((ratio - 1) - log_ratio).mean())
                        sums['clip_fraction'] += float(
                            ((ratio - 1).abs() > self.clip_ratio).float().mean())
                    steps += 1
                else:
                    # an empty minibatch on this rank: still take part in the
                    # gradient all-reduce (zero gradient)
                    loss = None
                synced_step(self.optimizer, params, loss, self.max_grad_norm)
        broadcast_module(self.net)
        self.num_updates += 1
        stats = {k: v / max(steps, 1) for k, v in sums.items()}
        stats.update(
            sigma=float(self.log_std().detach().exp()),
            advantage_pool=float(pool.numel()),
            return_mean=float(ret.mean()) if n else 0.,
        )
        return stats

    # -- checkpointing ---------------------------------------------------------
    def checkpoint_state(self) -> dict:
        """Weights, optimizer state and the update counter (CPU tensors)."""
        return dict(
            net={k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            optimizer=_to_cpu(self.optimizer.state_dict()),
            num_updates=int(self.num_updates))

    def load_checkpoint_state(self, state: dict) -> None:
        self.net.load_state_dict(state['net'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.num_updates = int(state.get('num_updates', 0))


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj
