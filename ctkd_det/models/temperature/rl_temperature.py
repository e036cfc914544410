"""RLKD: a reinforcement-learned temperature per RoI (Zhang et al. 2024,
"Instance Temperature Knowledge Distillation", arXiv 2407.00115).

A drop-in ``temperature=`` module for :class:`KDTwoStageDetector`: ``forward`` maps
the ``(N, C)`` teacher/student logits of the RoIs the student sampled to ``(N, 1)``
temperatures chosen by a PPO agent. It holds no parameters of its own: the agent
(actor-critic, ``ctkd_det/models/rl/ppo.py``) and the reward-calibration model
(``reward_decomposition.py``) are attributes that are **not** submodules, like the
teacher in ``KDTwoStageDetector``:

* they are absent from ``model.parameters()``: the detector's optim_wrapper never
  sees them and DDP neither wraps nor waits for them (no unused-parameter errors);
* they are absent from ``state_dict()``: ``RLTemperatureHook`` saves their weights
  and their optimizers' states in the checkpoint under ``rl_temperature`` and
  restores them on resume; an exported student has no ``temperature.*`` keys;
* ``_apply`` is forwarded, so ``.to()``/``.cuda()`` move them with the detector.

The agent learns from rewards, never from the KD loss: ``forward`` runs under
``no_grad`` and returns a tensor without graph, so no gradient reaches the agent,
the student's or the teacher's logits through ``T``.

Life cycle (driven by ``RLTemperatureHook``; the hook is required for learning):

1. warm-up: ``acting = False``: ``T = warmup_temperature`` for every RoI;
2. acting: each training forward samples ``T`` per RoI and stores the transitions
   of the iteration (state, pre-squash action ``u``, ``log N(u; mu, sigma)``,
   value, and a quality score for the exploration focus);
3. the hook pays each iteration's batch its reward one iteration later
   (:meth:`add_batch`) and every ``update_interval`` iterations calls
   :meth:`update`: reward calibration, then PPO on the rollout, then the rollout
   is cleared.

In eval mode the agent's mean action (``u = mu``) is used (not needed by
``KDTwoStageDetector``, which computes no KD loss when predicting).
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger

from ctkd_det.models.rl.features import (STATE_DIM, instance_quality,
                                         instance_state)
from ctkd_det.models.rl.ppo import PPOAgent
from ctkd_det.models.rl.reward_decomposition import RewardDecomposition
from ctkd_det.registry import MODELS
from ctkd_det.utils.dist import all_min_int, broadcast_module
from .base_temperature import BaseTemperature
from .bounds import check_bounds, squash

_BATCH_KEYS = ('states', 'actions', 'log_probs', 'values', 'quality')


@MODELS.register_module()
class RLTemperature(BaseTemperature):
    """Per-RoI temperatures from a PPO agent (RLKD).

    Args:
        t_min, t_max: temperature range; ``T = t_min + (t_max - t_min) *
            sigmoid(u)``. (The paper's ``T_max * sigmoid(u)`` lets ``T`` approach
            0, where ``logits / T`` overflows; ``t_min`` keeps it away.)
        warmup_temperature: the fixed ``T`` before the agent acts.
        init_temperature: the policy's initial mean ``T`` for every state;
            default ``warmup_temperature`` (no jump when the agent takes over).
        hidden_dims: actor and critic hidden widths (256, 256 as the paper).
        log_std_init: initial ``log sigma`` of the pre-squash Gaussian.
        ppo: further :class:`PPOAgent` arguments (gamma, gae_lambda, clip_ratio,
            ppo_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm,
            optimizer, log_std_bounds).
        decomposition: :class:`RewardDecomposition` arguments (hidden_dims,
            buffer_size, steps, max_grad_norm, optimizer).
        exploration: the focus on high-quality RoIs early on:
            ``start_fraction`` (share of the rollout's highest-quality
            transitions that enter the first PPO update), ``updates`` (number of
            updates over which the share grows linearly to 1; 0 disables the
            focus), ``background_weight`` (see ``instance_quality``).
        max_instances_per_step: keep at most this many (random) transitions per
            iteration for learning (``None``: all); every RoI still gets a sampled T.
    """

    def __init__(self,
                 t_min: float = 1.0,
                 t_max: float = 21.0,
                 warmup_temperature: float = 4.0,
                 init_temperature: Optional[float] = None,
                 hidden_dims: Sequence[int] = (256, 256),
                 log_std_init: float = -0.5,
                 ppo: Optional[dict] = None,
                 decomposition: Optional[dict] = None,
                 exploration: Optional[dict] = None,
                 max_instances_per_step: Optional[int] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        t_min, t_max = check_bounds(t_min, t_max, 'RLTemperature')
        if not (t_min <= warmup_temperature <= t_max):
            raise ValueError(
                f'RLTemperature: warmup_temperature={warmup_temperature} outside '
                f'[{t_min}, {t_max}]')
        if init_temperature is None:
            init_temperature = min(max(float(warmup_temperature), t_min + 1e-3 *
                                       (t_max - t_min)), t_max - 1e-3 * (t_max - t_min))
        exploration = dict(exploration or {})
        unknown = set(exploration) - {'start_fraction', 'updates',
                                      'background_weight'}
        if unknown:
            raise KeyError(f'RLTemperature: unknown exploration keys {sorted(unknown)}')
        self.t_min, self.t_max = t_min, t_max
        self.warmup_temperature = float(warmup_temperature)
        self.focus_start = float(exploration.get('start_fraction', 0.25))
        self.focus_updates = int(exploration.get('updates', 20))
        self.background_weight = float(exploration.get('background_weight', 0.5))
        if not (0 < self.focus_start <= 1) or self.focus_updates < 0:
            raise ValueError('RLTemperature: exploration needs 0 < start_fraction '
                             '<= 1 and updates >= 0')
        if max_instances_per_step is not None and int(max_instances_per_step) < 1:
            raise ValueError('RLTemperature: max_instances_per_step must be >= 1')
        self.max_instances_per_step = max_instances_per_step

        agent = PPOAgent(state_dim=STATE_DIM, hidden_dims=hidden_dims,
                         t_min=t_min, t_max=t_max,
                         init_temperature=float(init_temperature),
                         log_std_init=log_std_init, **(ppo or {}))
        decomposer = RewardDecomposition(state_dim=STATE_DIM,
                                         **(decomposition or {}))
        # Not submodules: see the module docstring.
        object.__setattr__(self, 'agent', agent)
        object.__setattr__(self, 'decomposer', decomposer)

        self.acting = False          # set by RLTemperatureHook
        self._step: Optional[List[dict]] = None  # this iteration's transitions
        self._rollout: List[dict] = []  # rewarded batches awaiting an update
        self._roi_targets = None     # (labels, ious) of the next forward
        self._warned_no_hook = False

    # -- module plumbing -------------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        """``.to()``, ``.cuda()`` … reach the unregistered agent networks."""
        self.agent._apply(fn, *args, **kwargs)
        self.decomposer._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def agent_modules(self) -> Dict[str, torch.nn.Module]:
        return dict(agent=self.agent, decomposer=self.decomposer)

    def extra_repr(self) -> str:
        return (f't_min={self.t_min}, t_max={self.t_max}, warmup_temperature='
                f'{self.warmup_temperature}, acting={self.acting}')

    # -- acting ----------------------------------------------------------------
    def set_roi_targets(self, labels: Optional[torch.Tensor],
                        ious: Optional[torch.Tensor] = None) -> None:
        """RoI-head targets of the RoIs of the *next* forward (labels ``(N,)``,
        background = the last logit column; IoU of positives with their ground
        truth ``(N,)``). Used for the exploration focus only; consumed by the next
        forward, ignored if its length does not match."""
        self._roi_targets = None if labels is None else (
            labels.detach(), None if ious is None else ious.detach())

    def forward(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        self.check_logits(teacher_logits, student_logits)
        targets, self._roi_targets = self._roi_targets, None
        n = student_logits.size(0)
        if not self.acting:
            return student_logits.new_full((n, 1), self.warmup_temperature)
        device = student_logits.device
        with torch.no_grad(), torch.autocast(device_type=device.type,
                                             enabled=False):
            states = instance_state(teacher_logits, student_logits)
            param = next(self.agent.parameters())
            out = self.agent.act(states.to(param), deterministic=not self.training)
            temperature = out['temperature'].clamp(self.t_min, self.t_max)
            if self.training:
                self._record(states, out, teacher_logits, targets)
        return temperature.to(device=device,
                              dtype=student_logits.dtype).reshape(n, 1)

    def _record(self, states, out, teacher_logits, targets) -> None:
        if self._step is None:
            if not self._warned_no_hook:
                MMLogger.get_current_instance().warning(
                    'RLTemperature is acting but no RLTemperatureHook collects '
                    'its transitions: the agent will not learn')
                self._warned_no_hook = True
            return
        n = states.size(0)
        labels = ious = None
        if targets is not None and targets[0].numel() == n:
            labels, ious = targets
        quality = instance_quality(teacher_logits, labels, ious,
                                   self.background_weight)
        batch = dict(states=states, actions=out['action'],
                     log_probs=out['log_prob'], values=out['value'],
                     quality=quality.to(states.device))
        limit = self.max_instances_per_step
        if limit is not None and n > limit:
            keep = torch.randperm(n, device=states.device)[:int(limit)]
            batch = {k: v[keep] for k, v in batch.items()}
        self._step.append({k: v.detach() for k, v in batch.items()})

    # -- rollout bookkeeping (called by RLTemperatureHook) ---------------------
    def begin_step(self) -> None:
        """Start collecting the transitions of one training iteration."""
        self._step = []

    def end_step(self) -> Optional[dict]:
        """Stop collecting; the iteration's transitions as one batch (``None`` if
        the agent did not act)."""
        step, self._step = self._step, None
        if not step:
            return None
        return {k: torch.cat([s[k] for s in step]) for k in _BATCH_KEYS}

    def add_batch(self, batch: dict, batch_return: float) -> None:
        """Add an acted-on batch with its (batch-level) return to the rollout."""
        self._rollout.append(dict(batch, batch_return=float(batch_return)))

    def clear_rollout(self) -> None:
        self._rollout = []
        self._step = None

    @property
    def rollout_batches(self) -> int:
        return len(self._rollout)

    def focus_fraction(self) -> float:
        """Share of the rollout (highest quality first) the next update learns
        from: ``start_fraction`` growing linearly to 1 over ``updates`` updates."""
        if self.focus_updates == 0:
            return 1.0
        progress = min(self.agent.num_updates / self.focus_updates, 1.0)
        return self.focus_start + (1.0 - self.focus_start) * progress

    def update(self) -> Optional[Dict[str, float]]:
        """Reward calibration + one PPO update on the rollout, then clear it.

        Collective under DDP: every rank calls it at the same iteration; if any
        rank has no rewarded batch, every rank skips (returns ``None``)."""
        device = next(self.agent.parameters()).device
        if all_min_int(len(self._rollout), device=device) == 0:
            return None
        rollout, self._rollout = self._rollout, []
        for b in rollout:
            self.decomposer.add(b['states'], b['actions'], b['batch_return'])
        decomposition_loss = self.decomposer.fit()
        rewards = torch.cat([
            self.decomposer.redistribute(b['states'], b['actions'],
                                         b['batch_return']) for b in rollout
        ])
        cat = {k: torch.cat([b[k] for b in rollout]) for k in _BATCH_KEYS}
        n = cat['states'].size(0)
        fraction = self.focus_fraction()
        k = max(1, int(math.ceil(fraction * n)))
        pool = None if k >= n else cat['quality'].topk(k).indices
        stats = self.agent.update(cat['states'], cat['actions'],
                                  cat['log_probs'], cat['values'], rewards,
                                  pool=pool)
        temps = squash(cat['actions'], self.t_min, self.t_max)
        stats.update(
            decomposition_loss=decomposition_loss,
            focus_fraction=fraction,
            batch_return=sum(b['batch_return'] for b in rollout) / len(rollout),
            rollout_temperature=float(temps.mean()),
            updates=float(self.agent.num_updates))
        return stats

    # -- synchronisation and checkpointing -------------------------------------
    def sync(self, src: int = 0) -> None:
        """Broadcast the agent's weights from rank ``src`` (collective)."""
        broadcast_module(self.agent.net, src)
        broadcast_module(self.decomposer.net, src)

    def checkpoint_state(self) -> dict:
        return dict(version=1, agent=self.agent.checkpoint_state(),
                    decomposer=self.decomposer.checkpoint_state())

    def load_checkpoint_state(self, state: dict) -> None:
        self.agent.load_checkpoint_state(state['agent'])
        self.decomposer.load_checkpoint_state(state['decomposer'])
        self.clear_rollout()
