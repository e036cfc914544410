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

Advantages (see :func:`iteration_gae`): GAE over *iterations*, the time axis of
RLKD: the RoIs of one iteration act in parallel (a set, no order), and only
through the detector's update do they affect the next iterations. Losses:
clipped surrogate (``clip = 0.2``, :func:`clipped_surrogate`), value MSE,
entropy bonus; actor and critic are separate MLPs (256 hidden, as the paper)
trained by one optimizer that belongs to the agent (not to the detector).

``sigma`` is bounded smoothly: ``log sigma = lo + (hi - lo) * sigmoid(w)`` for
an unconstrained parameter ``w`` (no clamp that would stop its gradient at a
bound).

Under DDP every statistic is over the global batch (all ranks' RoIs): the
advantages' per-iteration means, their normalisation and every minibatch mean;
the averaged gradient of a step is then the gradient a single process would get
on the union of the ranks' transitions.
"""
import math
from typing import Callable, Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import get_rank
from mmengine.registry import OPTIMIZERS

from ctkd_det.models.temperature.bounds import (check_bounds, squash, unsquash,
                                                unsquash_value)
from ctkd_det.utils.dist import (all_sum, broadcast_module, synced_step,
                                 world_size)

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


# -- advantages ------------------------------------------------------------------
@torch.no_grad()
def iteration_gae(rewards: torch.Tensor, values: torch.Tensor,
                  sizes: Sequence[int], gamma: float, lam: float,
                  next_value: Optional[float] = None,
                  reduce: Optional[Callable] = None):
    """GAE over iterations, spread to each iteration's RoIs.

    ``rewards`` and ``values`` ``(n,)``: the RoIs of ``B`` successive iterations,
    iteration after iteration (``sizes``: ``B`` counts summing to ``n``; the
    order *within* an iteration does not matter). With the per-RoI means of
    iteration ``b`` -- ``m_b = mean_i (r_bi - V_bi)``, ``v_b = mean_i V_bi`` --
    the iteration-level GAE in per-RoI units is

        A_b = m_b + F_b,    F_b = gamma * (v_{b+1} + lam * A_{b+1}),

    (``v_B = next_value``, default ``v_{B-1}``; ``A_B = 0``), i.e. GAE on the
    per-RoI share of the batch return ``R_b / N_b`` with the batch value
    ``v_b``. RoI ``i`` of iteration ``b`` gets its own one-step term plus the
    iteration's share of the future:

        A_bi = r_bi - V_bi + F_b,    returns A_bi + V_bi,

    so ``mean_i A_bi = A_b``. ``gamma = 0`` gives the one-step ``r - V``.
    An iteration without RoIs is skipped (its successor follows its
    predecessor). ``reduce`` (e.g. ``all_sum``) sums the per-iteration
    statistics over the ranks, so that the means are over the global batch.
    Computed in float64; returned as float32 on the input device.
    """
    device = rewards.device
    sizes = [int(k) for k in sizes]
    if sum(sizes) != rewards.numel() or values.shape != rewards.shape:
        raise ValueError(f'iteration_gae: sizes {sizes} do not cover the '
                         f'{rewards.numel()} rewards / values')
    r, v = rewards.detach().double().cpu(), values.detach().double().cpu()
    one_step = r - v
    sums = torch.zeros(len(sizes), 3, dtype=torch.float64)
    for b, (d, vb) in enumerate(zip(one_step.split(sizes), v.split(sizes))):
        sums[b] = torch.stack([d.sum(), vb.sum(), d.new_tensor(float(d.numel()))])
    if reduce is not None:
        sums = reduce(sums)
    counts = sums[:, 2].tolist()
    means = [(float(sums[b, 0]) / c, float(sums[b, 1]) / c) if c > 0 else None
             for b, c in enumerate(counts)]
    if next_value is None:
        filled = [m for m in means if m is not None]
        next_value = filled[-1][1] if filled else 0.0
    future = [0.0] * len(sizes)
    next_v, next_a = float(next_value), 0.0
    for b in range(len(sizes) - 1, -1, -1):
        future[b] = gamma * (next_v + lam * next_a)
        if means[b] is not None:
            next_a = means[b][0] + future[b]
            next_v = means[b][1]
    adv = one_step + torch.tensor(future, dtype=torch.float64).repeat_interleave(
        torch.tensor(sizes, dtype=torch.long))
    return adv.float().to(device), (adv + v).float().to(device)


def clipped_surrogate(log_ratio: torch.Tensor, advantages: torch.Tensor,
                      clip_ratio: float):
    """PPO's clipped objective per transition, ``min(rho A, clip(rho) A)`` with
    ``rho = exp(log_ratio)``, and whether ``rho`` lies outside ``1 +- clip``
    (the clip fraction's numerator). Once ``rho`` has left the interval on the
    side the advantage pushes it to, the objective is constant (no gradient)."""
    ratio = log_ratio.exp()
    surr = torch.min(ratio * advantages,
                     ratio.clamp(1 - clip_ratio, 1 + clip_ratio) * advantages)
    return surr, (ratio - 1).abs() > clip_ratio


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
    and a state-independent, unconstrained ``raw_log_std`` (mapped into the
    ``log sigma`` bounds by :meth:`PPOAgent.log_std`).

    The actor's last layer starts with zero weights and bias ``init_mean``: every
    state starts at the same mean action (the warm-up temperature, so switching
    the agent on does not jump ``T``).
    """

    def __init__(self, state_dim: int, hidden_dims: Sequence[int] = (256, 256),
                 init_mean: float = 0.0, raw_log_std_init: float = 0.0):
        super().__init__()
        self.actor = _mlp(state_dim, hidden_dims, 1)
        self.critic = _mlp(state_dim, hidden_dims, 1)
        nn.init.zeros_(self.actor[-1].weight)
        nn.init.constant_(self.actor[-1].bias, float(init_mean))
        self.raw_log_std = nn.Parameter(torch.tensor([float(raw_log_std_init)]))

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
        log_std_init: initial ``log sigma`` of the pre-squash Gaussian (strictly
            inside ``log_std_bounds``).
        log_std_bounds: ``(lo, hi)``: ``log sigma = lo + (hi - lo) *
            sigmoid(w)`` for the learned ``w``, a smooth bound.
        gamma, gae_lambda: discount and trace of the GAE over iterations
            (:func:`iteration_gae`).
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
        lo, hi = float(log_std_bounds[0]), float(log_std_bounds[1])
        if not (lo < float(log_std_init) < hi):
            raise ValueError(
                f'PPOAgent: log_std_init must lie strictly inside log_std_bounds '
                f'({lo}, {hi}), got {log_std_init}')
        self.t_min, self.t_max = t_min, t_max
        self.gamma, self.gae_lambda = float(gamma), float(gae_lambda)
        self.clip_ratio = float(clip_ratio)
        self.ppo_epochs, self.num_minibatches = int(ppo_epochs), int(num_minibatches)
        self.value_coef, self.entropy_coef = float(value_coef), float(entropy_coef)
        self.max_grad_norm = max_grad_norm
        self.log_std_bounds = (lo, hi)
        init_mean = unsquash_value(init_temperature, t_min, t_max)
        self.net = ActorCritic(state_dim, hidden_dims, init_mean,
                               unsquash_value(float(log_std_init), lo, hi))
        self.optimizer = OPTIMIZERS.build(
            dict(optimizer, params=self.net.parameters()))
        self.num_updates = 0

    # -- acting ----------------------------------------------------------------
    def log_std(self) -> torch.Tensor:
        """``log sigma`` ``(1,)``, smoothly inside ``log_std_bounds`` (with
        gradient everywhere)."""
        return squash(self.net.raw_log_std, *self.log_std_bounds)

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
    def losses(self, states: torch.Tensor, actions: torch.Tensor,
               old_log_probs: torch.Tensor, advantages: torch.Tensor,
               returns: torch.Tensor, denominator: float):
        """The PPO loss of one minibatch, as a *sum* over its transitions divided
        by ``denominator`` (the global minibatch size times ``1 / world_size``:
        the mean over the ranks' losses is then the mean over the global
        minibatch), and the sums of its statistics (``count``, ``clipped``,
        ``policy_loss``, ``value_loss``, ``entropy``, ``approx_kl``)."""
        logp, v, ent = self.evaluate(states, actions)
        log_ratio = logp - old_log_probs
        surr, clipped = clipped_surrogate(log_ratio, advantages, self.clip_ratio)
        policy = -surr.sum()
        value = 0.5 * (v - returns).pow(2).sum()
        entropy = ent.sum()
        loss = (policy + self.value_coef * value - self.entropy_coef * entropy) \
            / denominator
        with torch.no_grad():
            ratio = log_ratio.exp()
            sums = torch.stack([
                torch.tensor(float(states.size(0)), dtype=torch.float64),
                clipped.double().sum().cpu(), policy.double().cpu(),
                value.double().cpu(), entropy.double().cpu(),
                # k3 estimator of KL(old || new), always >= 0
                ((ratio - 1) - log_ratio).double().sum().cpu()])
        return loss, sums

    def update(self, states: torch.Tensor, actions: torch.Tensor,
               log_probs: torch.Tensor, advantages: torch.Tensor,
               returns: torch.Tensor, pool: Optional[torch.Tensor] = None,
               generator: Optional[torch.Generator] = None) -> Dict[str, float]:
        """One PPO update on a rollout of ``n`` transitions.

        Args:
            states ``(n, d)``, actions ``(n,)`` (pre-squash ``u``), log_probs
            ``(n,)`` (behaviour policy's ``log N(u)``), advantages and returns
            ``(n,)`` (e.g. :func:`iteration_gae`).
            pool: indices of the transitions that enter the losses (the
                exploration focus). Default: all. The pool's advantages are
                normalised to mean 0, std 1 over the pools of all ranks.

        Collective under DDP (see ``ctkd_det.utils.dist``): every rank must call
        it; every minibatch mean and the normalisation are over all ranks'
        transitions, so the averaged gradient of each step equals that of one
        process holding the union of the ranks' minibatches.
        """
        n = int(states.size(0))
        world = world_size()
        if pool is None:
            pool = torch.arange(n, device=states.device)
        pool = pool.to(states.device).long()
        adv = advantages.detach().double()
        a = adv[pool]
        stats = all_sum(torch.stack([
            a.new_tensor(float(a.numel())), a.sum(), a.pow(2).sum(),
            a.new_tensor(float(n)), returns.detach().double().sum()]).cpu())
        total = int(stats[0])
        if total > 1:
            mean = float(stats[1]) / total
            var = max(float(stats[2]) - total * mean * mean, 0.) / (total - 1)
            adv = adv.clone()
            adv[pool] = (a - mean) / (math.sqrt(var) + 1e-8)
        adv = adv.to(states.dtype)
        # the minibatch sizes of every rank (tensor_split of its pool)
        own = torch.zeros(world, dtype=torch.float64)
        own[get_rank()] = pool.numel()
        pools = all_sum(own).long().tolist()
        k = self.num_minibatches
        global_sizes = [sum(p // k + (1 if j < p % k else 0) for p in pools)
                        for j in range(k)]
        params = list(self.net.parameters())
        sums = torch.zeros(6, dtype=torch.float64)
        for _ in range(self.ppo_epochs):
            perm = pool[torch.randperm(pool.numel(), generator=generator)
                        .to(pool.device)] if pool.numel() else pool
            for j, idx in enumerate(perm.tensor_split(k)):
                if global_sizes[j] == 0:
                    continue  # no rank has data for this step: all skip it
                self.optimizer.zero_grad(set_to_none=False)
                loss = None
                if idx.numel():
                    loss, s = self.losses(states[idx], actions[idx],
                                          log_probs[idx], adv[idx], returns[idx],
                                          global_sizes[j] / world)
                    sums += s
                # a rank without transitions joins with a zero gradient
                synced_step(self.optimizer, params, loss, self.max_grad_norm)
        broadcast_module(self.net)
        self.num_updates += 1
        sums = all_sum(sums)
        count = max(float(sums[0]), 1.0)
        return dict(
            policy_loss=float(sums[2]) / count,
            value_loss=float(sums[3]) / count,
            entropy=float(sums[4]) / count,
            approx_kl=float(sums[5]) / count,
            clip_fraction=float(sums[1]) / count,
            sigma=float(self.log_std().detach().exp()),
            advantage_pool=float(total),
            return_mean=float(stats[4]) / max(float(stats[3]), 1.0))

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
