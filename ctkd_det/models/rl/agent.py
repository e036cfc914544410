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

Each batch is tagged with the number of PPO updates done when it was acted on.
A batch is paid one iteration after it was acted on, so the batch acted on in an
update's own iteration reaches the next rollout from a policy one update older
than the rest; :meth:`update` fits the reward model on it but leaves it out of
PPO (no off-policy transitions in a PPO update).

Under DDP the ranks' RoIs of one iteration form one *global* batch with one
return; the reward model, the advantages' per-iteration means and
normalisation, and the exploration top-k are all over the global batch.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from ctkd_det.models.temperature.bounds import squash, unsquash_value
from ctkd_det.utils.dist import (all_gather_cat, all_min_int, all_sum,
                                 broadcast_module)
from .features import STATE_DIM, instance_quality
from .ppo import PPOAgent, iteration_gae
from .reward_decomposition import RewardDecomposition

BATCH_KEYS = ('states', 'actions', 'log_probs', 'values', 'quality')
#: ``checkpoint['rl_temperature']['version']`` written by this code. 1: ``log
#: sigma`` clamped (net key ``log_std``), no rollout / FIFO; 2: ``log sigma``
#: squashed from ``raw_log_std``, per-rank rollout, FIFO and pending batch
#: (``ranks``, added by ``RLTemperatureHook``).
STATE_VERSION = 2
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
        out = {k: torch.cat([b[k] for b in batches]) for k in BATCH_KEYS}
        out['version'] = self.ppo.num_updates  # the policy that acted
        return out

    def add_batch(self, batch: dict, batch_return: float) -> None:
        """Add an acted-on batch with its return to the rollout. Under DDP
        ``batch`` is this rank's part of the global batch and ``batch_return``
        the global batch's return (the same on every rank)."""
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

    def _focus_pool(self, quality: torch.Tensor, fraction: float):
        """Indices of this rank's transitions among the ``ceil(fraction * N)``
        best of all ranks' ``N`` (``None``: all)."""
        full, offset = all_gather_cat(quality)
        n = full.numel()
        k = max(1, int(math.ceil(fraction * n)))
        if k >= n:
            return None
        best = full.topk(k).indices
        mine = best[(best >= offset) & (best < offset + quality.numel())]
        return (mine - offset).sort().values.to(quality.device)

    def update(self, next_batch: Optional[dict] = None
               ) -> Optional[Dict[str, float]]:
        """Reward calibration + one PPO update on the rollout, then clear it.

        ``next_batch``: the batch acted on after the rollout's last one (its
        values bootstrap the advantages; ignored unless acted on by the current
        policy on every rank). Batches acted on by an older policy only train
        the reward model. Collective under DDP: every rank calls it at the same
        iteration; if any rank has no rewarded batch, every rank skips (returns
        ``None``)."""
        device = next(self.ppo.parameters()).device
        if all_min_int(len(self._rollout), device=device) == 0:
            return None
        rollout, self._rollout = self._rollout, []
        decomposition_loss = self.decomposer.fit(
            [(b['states'], b['actions'], b['batch_return']) for b in rollout])
        current = self.ppo.num_updates
        fresh = [b for b in rollout if b.get('version') == current]
        stats = dict(decomposition_loss=decomposition_loss,
                     batch_return=sum(b['batch_return'] for b in rollout) /
                     len(rollout),
                     stale_batches=float(len(rollout) - len(fresh)))
        if all_min_int(len(fresh), device=device) == 0:
            return stats  # nothing acted on by this policy: no PPO update
        rewards = torch.cat(self.decomposer.redistribute(
            [(b['states'], b['actions'], b['batch_return']) for b in fresh]))
        cat = {k: torch.cat([b[k] for b in fresh]) for k in BATCH_KEYS}
        has_next = next_batch is not None and \
            next_batch.get('version') == current
        next_value = None
        if all_min_int(int(has_next), device=device):
            v = next_batch['values'].double()
            total = all_sum(torch.tensor([float(v.sum()), float(v.numel())],
                                         dtype=torch.float64))
            if total[1] > 0:
                next_value = float(total[0] / total[1])
        adv, ret = iteration_gae(
            rewards, cat['values'], [b['states'].size(0) for b in fresh],
            self.ppo.gamma, self.ppo.gae_lambda, next_value=next_value,
            reduce=all_sum)
        fraction = self.focus_fraction()
        pool = self._focus_pool(cat['quality'], fraction)
        stats.update(self.ppo.update(cat['states'], cat['actions'],
                                     cat['log_probs'], adv, ret, pool=pool))
        temps = squash(cat['actions'], self.t_min, self.t_max)
        stats.update(
            focus_fraction=fraction,
            rollout_temperature=float(temps.mean()),
            updates=float(self.ppo.num_updates))
        return stats

    # -- synchronisation and checkpointing -------------------------------------
    def sync(self, src: int = 0) -> None:
        """Broadcast the networks' weights from rank ``src`` (collective)."""
        broadcast_module(self.ppo.net, src)
        broadcast_module(self.decomposer.net, src)

    def checkpoint_state(self) -> dict:
        """What ``checkpoint['rl_temperature']`` holds (besides the per-rank
        ``ranks`` entries the hook adds): weights, optimizer states and the
        update counter."""
        return dict(version=STATE_VERSION, agent=self.ppo.checkpoint_state(),
                    decomposer=self.decomposer.checkpoint_state())

    def load_checkpoint_state(self, state: dict) -> None:
        """Load :meth:`checkpoint_state` (version 2, or version 1 migrated);
        clears the rollout."""
        version = state.get('version')
        if version == 1:
            state = self._migrate_v1(state)
        elif version != STATE_VERSION:
            raise ValueError(
                f'RLKD agent state version {version!r} is not supported (this '
                f'code reads versions 1 and {STATE_VERSION}); was the checkpoint '
                'written by a newer ctkd_det?')
        self.ppo.load_checkpoint_state(state['agent'])
        self.decomposer.load_checkpoint_state(state['decomposer'])
        self.clear_rollout()

    def _migrate_v1(self, state: dict) -> dict:
        """Version 1 stored ``log sigma`` itself (clamped when used): the same
        sigma as the squashed ``raw_log_std``; the optimizer moments of that
        parameter do not carry over (reset)."""
        lo, hi = self.ppo.log_std_bounds
        net = dict(state['agent']['net'])
        log_std = float(net.pop('log_std').reshape(-1)[0])
        margin = 1e-6 * (hi - lo)
        log_std = min(max(log_std, lo + margin), hi - margin)
        net['raw_log_std'] = torch.tensor([unsquash_value(log_std, lo, hi)])
        optimizer = dict(state['agent']['optimizer'])
        index = len(list(self.ppo.net.parameters())) - 1  # log sigma: last
        optimizer['state'] = {k: v for k, v in optimizer['state'].items()
                              if int(k) != index}
        MMLogger.get_current_instance().warning(
            'RLKD: migrated a version-1 agent state (sigma kept, its optimizer '
            'moments reset; no rollout or reward-model FIFO in that version)')
        return dict(state, agent=dict(state['agent'], net=net,
                                      optimizer=optimizer))

    def transient_state(self) -> dict:
        """This rank's rollout and reward-model FIFO (CPU tensors): what an
        exact resume needs besides :meth:`checkpoint_state`."""
        return dict(rollout=[batch_to(b, 'cpu') for b in self._rollout],
                    buffer=self.decomposer.buffer_state())

    def load_transient_state(self, state: dict) -> None:
        device = next(self.ppo.parameters()).device
        self._rollout = [batch_to(b, device) for b in state['rollout']]
        self.decomposer.load_buffer_state(state['buffer'])


def batch_to(batch: Optional[dict], device) -> Optional[dict]:
    """A batch (tensors and numbers) with its tensors moved to ``device``."""
    if batch is None:
        return None
    return {k: v.detach().to(device) if isinstance(v, torch.Tensor) else v
            for k, v in batch.items()}
