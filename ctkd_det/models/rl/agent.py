"""The learning side of RLKD: policy, reward calibration and rollout.

:class:`RLKDAgent` holds the PPO actor-critic (:class:`PPOAgent`, with its own
optimizer), the reward-calibration model (:class:`RewardDecomposition`), the
transitions of the training iteration in progress and the rollout of rewarded
iterations. :class:`RLTemperature` asks it for actions (:meth:`act`) and hands it
what it acted on (:meth:`record`); :class:`RLTemperatureHook` drives the rest once
per iteration (:meth:`begin_step`, :meth:`end_step`, :meth:`add_batch`,
:meth:`update`), synchronises it over the ranks (:meth:`sync`) and checkpoints it
(:meth:`checkpoint_state`, stored under ``checkpoint['rl_temperature']``).

A transition's *quality* (the exploration focus, see ``instance_quality``) needs
the RoI head's targets of the RoIs acted on; they are known after the iteration's
forward (the detector's RoI record), so it is computed in :meth:`end_step`.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from ctkd_det.models.temperature.bounds import squash
from ctkd_det.utils.dist import all_min_int, broadcast_module
from .features import STATE_DIM, instance_quality
from .ppo import PPOAgent
from .reward_decomposition import RewardDecomposition

BATCH_KEYS = ('states', 'actions', 'log_probs', 'values', 'quality')
_EXPLORATION_KEYS = {'start_fraction', 'updates', 'background_weight'}


class RLKDAgent(nn.Module):
    """PPO agent + reward calibration + rollout of one RLKD temperature module.

    An ``nn.Module`` only so that ``.to()`` / ``.parameters()`` reach both
    networks; its owner keeps it outside its own module tree, and its state is
    saved with :meth:`checkpoint_state`, not ``state_dict``.

    Args:
        t_min, t_max: temperature range of the policy's squash.
        init_temperature: the policy's initial mean temperature (every state).
        hidden_dims: actor and critic hidden widths.
        log_std_init: initial ``log sigma`` of the pre-squash Gaussian.
        ppo: further :class:`PPOAgent` arguments.
        decomposition: :class:`RewardDecomposition` arguments.
        exploration: ``start_fraction``, ``updates``, ``background_weight``
            (see :class:`RLTemperature`).
        max_instances_per_step: keep at most this many (random) transitions per
            forward for learning (``None``: all).
    """

    def __init__(self,
                 t_min: float,
                 t_max: float,
                 init_temperature: float,
                 hidden_dims: Sequence[int] = (256, 256),
                 log_std_init: float = -0.5,
                 ppo: Optional[dict] = None,
                 decomposition: Optional[dict] = None,
                 exploration: Optional[dict] = None,
                 max_instances_per_step: Optional[int] = None):
        super().__init__()
        exploration = dict(exploration or {})
        unknown = set(exploration) - _EXPLORATION_KEYS
        if unknown:
            raise KeyError(f'RLTemperature: unknown exploration keys {sorted(unknown)}')
        self.focus_start = float(exploration.get('start_fraction', 0.25))
        self.focus_updates = int(exploration.get('updates', 20))
        self.background_weight = float(exploration.get('background_weight', 0.5))
        if not (0 < self.focus_start <= 1) or self.focus_updates < 0:
            raise ValueError('RLTemperature: exploration needs 0 < start_fraction '
                             '<= 1 and updates >= 0')
        if max_instances_per_step is not None and int(max_instances_per_step) < 1:
            raise ValueError('RLTemperature: max_instances_per_step must be >= 1')
        self.max_instances_per_step = max_instances_per_step
        self.t_min, self.t_max = float(t_min), float(t_max)

        # built in this order: the same initial weights from the same seed
        self.ppo = PPOAgent(state_dim=STATE_DIM, hidden_dims=hidden_dims,
                            t_min=t_min, t_max=t_max,
                            init_temperature=float(init_temperature),
                            log_std_init=log_std_init, **(ppo or {}))
        self.decomposer = RewardDecomposition(state_dim=STATE_DIM,
                                              **(decomposition or {}))

        self._step: Optional[List[dict]] = None  # this iteration's forwards
        self._rollout: List[dict] = []  # rewarded batches awaiting an update
        self._warned_no_hook = False

    @property
    def num_updates(self) -> int:
        """PPO updates done so far (checkpointed)."""
        return self.ppo.num_updates

    # -- acting ----------------------------------------------------------------
    @torch.no_grad()
    def act(self, states: torch.Tensor, deterministic: bool = False) -> dict:
        """The policy's actions for ``states`` ``(N, 3)`` (see
        :meth:`PPOAgent.act`), computed in the networks' dtype and device."""
        param = next(self.ppo.parameters())
        return self.ppo.act(states.to(param), deterministic=deterministic)

    def record(self, states: torch.Tensor, out: dict,
               teacher_logits: torch.Tensor) -> None:
        """Keep one training forward's transitions for :meth:`end_step`:
        ``states`` ``(N, 3)``, ``out`` of :meth:`act` and the teacher's logits
        ``(N, C)`` (for the quality). Draws the ``max_instances_per_step`` subset
        here, so the random stream is that of the forward."""
        if self._step is None:
            if not self._warned_no_hook:
                MMLogger.get_current_instance().warning(
                    'RLTemperature is acting but no RLTemperatureHook collects '
                    'its transitions: the agent will not learn')
                self._warned_no_hook = True
            return
        n = states.size(0)
        keep = None
        limit = self.max_instances_per_step
        if limit is not None and n > limit:
            keep = torch.randperm(n, device=states.device)[:int(limit)]
        self._step.append(dict(
            states=states.detach(), actions=out['action'].detach(),
            log_probs=out['log_prob'].detach(), values=out['value'].detach(),
            teacher_logits=teacher_logits.detach(), keep=keep))

    # -- rollout bookkeeping (called by RLTemperatureHook) ---------------------
    def begin_step(self) -> None:
        """Start collecting the transitions of one training iteration."""
        self._step = []

    def end_step(self, labels: Optional[torch.Tensor] = None,
                 ious: Optional[torch.Tensor] = None) -> Optional[dict]:
        """Stop collecting; the iteration's transitions as one batch (``None`` if
        the agent did not act).

        ``labels`` ``(N,)`` (background = the last logit column) and ``ious``
        ``(N,)``: the RoI head's targets of the RoIs acted on, in order, for the
        quality; ignored (teacher confidence instead) unless they cover exactly
        the iteration's RoIs."""
        step, self._step = self._step, None
        if not step:
            return None
        total = sum(s['states'].size(0) for s in step)
        if labels is None or labels.numel() != total:
            labels = ious = None
        batches, offset = [], 0
        for s in step:
            n = s['states'].size(0)
            part = slice(offset, offset + n)
            offset += n
            quality = instance_quality(
                s['teacher_logits'], None if labels is None else labels[part],
                None if ious is None else ious[part], self.background_weight)
            batch = dict(states=s['states'], actions=s['actions'],
                         log_probs=s['log_probs'], values=s['values'],
                         quality=quality.to(s['states'].device))
            if s['keep'] is not None:
                batch = {k: v[s['keep']] for k, v in batch.items()}
            batches.append(batch)
        return {k: torch.cat([b[k] for b in batches]) for k in BATCH_KEYS}

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
        progress = min(self.ppo.num_updates / self.focus_updates, 1.0)
        return self.focus_start + (1.0 - self.focus_start) * progress

    def update(self) -> Optional[Dict[str, float]]:
        """Reward calibration + one PPO update on the rollout, then clear it.

        Collective under DDP: every rank calls it at the same iteration; if any
        rank has no rewarded batch, every rank skips (returns ``None``)."""
        device = next(self.ppo.parameters()).device
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
        cat = {k: torch.cat([b[k] for b in rollout]) for k in BATCH_KEYS}
        n = cat['states'].size(0)
        fraction = self.focus_fraction()
        k = max(1, int(math.ceil(fraction * n)))
        pool = None if k >= n else cat['quality'].topk(k).indices
        stats = self.ppo.update(cat['states'], cat['actions'],
                                cat['log_probs'], cat['values'], rewards,
                                pool=pool)
        temps = squash(cat['actions'], self.t_min, self.t_max)
        stats.update(
            decomposition_loss=decomposition_loss,
            focus_fraction=fraction,
            batch_return=sum(b['batch_return'] for b in rollout) / len(rollout),
            rollout_temperature=float(temps.mean()),
            updates=float(self.ppo.num_updates))
        return stats

    # -- synchronisation and checkpointing -------------------------------------
    def sync(self, src: int = 0) -> None:
        """Broadcast the networks' weights from rank ``src`` (collective)."""
        broadcast_module(self.ppo.net, src)
        broadcast_module(self.decomposer.net, src)

    def checkpoint_state(self) -> dict:
        """What ``checkpoint['rl_temperature']`` holds: weights, optimizer states
        and the update counter (not the rollout in progress)."""
        return dict(version=1, agent=self.ppo.checkpoint_state(),
                    decomposer=self.decomposer.checkpoint_state())

    def load_checkpoint_state(self, state: dict) -> None:
        self.ppo.load_checkpoint_state(state['agent'])
        self.decomposer.load_checkpoint_state(state['decomposer'])
        self.clear_rollout()
