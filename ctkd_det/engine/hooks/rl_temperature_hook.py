"""Drives RLKD's agent (``RLTemperature.agent``): warm-up, rewards, PPO updates,
checkpointing of the agent."""
import math
from typing import Optional

import torch
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from ctkd_det.models.rl.agent import batch_to
from ctkd_det.registry import HOOKS
from ctkd_det.utils import unwrap_model
from .rng_state_hook import RngStateHook

FG_ACC = 'acc_fg'


def foreground_counts(cls_score: torch.Tensor,
                      labels: torch.Tensor) -> torch.Tensor:
    """``[correct, total]`` over the foreground RoIs: ``cls_score`` ``(R, C + 1)``
    (background last, mmdet's convention), ``labels`` ``(R,)`` in ``[0, C]``."""
    fg = labels < cls_score.size(1) - 1
    correct = (cls_score[fg].argmax(1) == labels[fg]).sum()
    return torch.stack([correct, fg.sum()]).float().detach().cpu()


@HOOKS.register_module()
class RLTemperatureHook(Hook):
    """Schedules the RLKD agent of ``model.temperature`` (an ``RLTemperature``).

    * **Warm-up**: for the first ``warmup_epochs`` epochs (or ``warmup_iters``
      iterations, if given) the agent is idle and every RoI gets the module's
      ``warmup_temperature``; then the agent acts on every training iteration.
    * **Reward**: the change of the student's RoI classification accuracy between
      successive iterations, ``R_b = reward_scale * (acc_{b+1} - acc_b)``, where
      ``acc`` is mmdet's bbox-head ``acc`` (in %, over the sampled RoIs) from the
      iteration's outputs. The temperatures of batch ``b`` shape the update that
      produces the weights evaluated at ``b + 1``, so batch ``b`` is paid one
      iteration later. ``reward_key`` selects another logged value; for a key
      containing ``loss`` the sign is flipped (a falling loss is a reward).
      ``reward_key='acc_fg'`` (the configs' choice) is the accuracy over the
      *foreground* sampled RoIs only, measured by the hook from the RoI targets
      and class scores the detector recorded (``last_roi_record``): 75-85 % of
      the sampled RoIs are background, which the student learns first, so the
      overall ``acc`` mostly tracks background recognition, while mAP depends on
      the foreground classes. A batch without foreground RoIs (on every rank)
      pays no reward.
      Under DDP ``acc`` is over every rank's RoIs (the update of step ``b`` is
      driven by every rank's temperatures): the ranks' RoIs of one iteration are
      one global batch with return ``R_b``, redistributed over all of them.
    * **Updates**: every ``update_interval`` iterations, reward calibration and one
      PPO update on the batches rewarded since the last update; the batch of the
      current iteration (not yet paid) bootstraps the advantages. It is paid at
      the next iteration and joins the next rollout, where, acted on by the
      previous policy, it trains the reward model only.
    * **Exploration focus**: the RoI head's targets (label of every sampled RoI and
      IoU of the positives with their ground truth), read from the detector's
      ``last_roi_record`` (``capture_roi_targets``), close each iteration's
      transitions (``agent.end_step``); the agent ranks them by quality (see
      ``instance_quality``) for the early updates.
    * **Checkpoints**: the agent's and the reward model's weights and optimizer
      states are saved under ``checkpoint['rl_temperature']`` and restored by
      resume (and ``load_from``). For an exact resume, every rank's rollout in
      progress, reward-model FIFO, unpaid batch and last reward metric are saved
      too (``ranks``: under DDP gathered to rank 0 after every epoch and before
      every iteration-based checkpoint, as ``RngStateHook`` does) and restored
      by a resume (not by ``load_from``).
    * **DDP**: ranks act on their own RoIs with identical agents; updates average
      gradients over ranks and end with a broadcast from rank 0; the weights are
      also broadcast from rank 0 before training (after a resume).

    Update statistics are logged as ``train/rl_*`` scalars.

    Args:
        warmup_epochs: epochs with the fixed warm-up temperature.
        warmup_iters: if not ``None``, warm up for this many iterations instead.
        update_interval: iterations between PPO updates.
        reward_key: ``'acc_fg'`` (default: foreground RoI accuracy, see above)
            or a key of the train outputs (log vars) the reward is made of.
        reward_scale: multiplier of the reward.
        capture_roi_targets: use the recorded RoI labels/IoUs for the
            exploration focus (else the teacher's confidence ranks the RoIs).
        module_name: attribute of the (unwrapped) model holding the temperature.
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup_epochs: int = 1,
                 warmup_iters: Optional[int] = None,
                 update_interval: int = 50,
                 reward_key: str = FG_ACC,
                 reward_scale: float = 1.0,
                 capture_roi_targets: bool = True,
                 module_name: str = 'temperature'):
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f'RLTemperatureHook: warmup_epochs must be an int >= 0, '
                             f'got {warmup_epochs!r}')
        if warmup_iters is not None and (not isinstance(warmup_iters, int)
                                         or warmup_iters < 0):
            raise ValueError(f'RLTemperatureHook: warmup_iters must be an int >= 0 '
                             f'or None, got {warmup_iters!r}')
        if not isinstance(update_interval, int) or update_interval < 1:
            raise ValueError('RLTemperatureHook: update_interval must be an int >= '
                             f'1, got {update_interval!r}')
        if not math.isfinite(reward_scale) or reward_scale <= 0:
            raise ValueError(f'RLTemperatureHook: reward_scale must be > 0, got '
                             f'{reward_scale}')
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters
        self.update_interval = update_interval
        if reward_key == FG_ACC and not capture_roi_targets:
            raise ValueError(f'RLTemperatureHook: reward_key={FG_ACC!r} is measured '
                             'from the recorded RoI targets: capture_roi_targets '
                             'must be True')
        self.reward_key = reward_key
        self.reward_sign = -1.0 if 'loss' in reward_key else 1.0
        self.reward_scale = float(reward_scale)
        self.capture_roi_targets = capture_roi_targets
        self.module_name = module_name
        self._reset()

    def _reset(self):
        self._awaiting = None      # acted-on batch waiting for its reward
        self._last_metric = None   # reward metric of the previous iteration
        self._gathered = None      # every rank's transient state (DDP saving)
        self._gathered_at = None
        self._resumed = False      # transient state restored by a resume

    # -- helpers ---------------------------------------------------------------
    def _temperature(self, runner):
        from ctkd_det.models.temperature.rl_temperature import RLTemperature
        model = unwrap_model(runner.model)
        module = getattr(model, self.module_name, None)
        if not isinstance(module, RLTemperature):
            raise RuntimeError(
                f'RLTemperatureHook: the model ({type(model).__name__}) has no '
                f'RLTemperature at .{self.module_name} (found '
                f'{type(module).__name__})')
        return module

    def acting_at(self, runner) -> bool:
        if self.warmup_iters is not None:
            return runner.iter >= self.warmup_iters
        return runner.epoch >= self.warmup_epochs

    @staticmethod
    def _roi_record(runner):
        """The detector's record of this iteration's RoIs (``RoIRecord``), or
        ``None``."""
        return getattr(unwrap_model(runner.model), 'last_roi_record', None)

    def _metric(self, outputs, record) -> Optional[float]:
        """The reward metric of this iteration, averaged over the ranks (a
        collective: every rank calls it every iteration)."""
        if self.reward_key == FG_ACC:
            if record is not None and record.labels is not None \
                    and record.cls_score is not None:
                counts = foreground_counts(record.cls_score, record.labels)
            else:
                counts = torch.zeros(2)
            dist.all_reduce(counts, op='sum')
            return float(100.0 * counts[0] / counts[1]) if counts[1] > 0 \
                else None
        if not outputs or self.reward_key not in outputs:
            return None
        value = outputs[self.reward_key]
        value = value.detach().float().mean().reshape(1) \
            if isinstance(value, torch.Tensor) else torch.tensor([float(value)])
        dist.all_reduce(value, op='mean')
        value = float(value)
        return value if math.isfinite(value) else None

    # -- hook points -----------------------------------------------------------
    def before_run(self, runner) -> None:
        self._temperature(runner)  # fail before training, not at the first iteration

    def before_train(self, runner) -> None:
        agent = self._temperature(runner).agent
        agent.sync(src=0)  # identical agents on every rank (also after a resume)
        if not self._resumed:
            self._reset()
        self._resumed = False
        if self.capture_roi_targets and \
                not hasattr(unwrap_model(runner.model), 'last_roi_record'):
            MMLogger.get_current_instance().warning(
                'RLTemperatureHook: the model records no RoI targets '
                '(last_roi_record); exploration ranks RoIs by teacher confidence')

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        temp = self._temperature(runner)
        temp.acting = self.acting_at(runner)
        if temp.acting:
            temp.agent.begin_step()
        else:
            temp.agent.clear_rollout()
        runner.message_hub.update_scalar('train/rl_acting', float(temp.acting))

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        temp = self._temperature(runner)
        agent = temp.agent
        record = self._roi_record(runner)
        if self.capture_roi_targets and record is not None:
            batch = agent.end_step(record.labels, record.ious)
        else:
            batch = agent.end_step()
        metric = self._metric(outputs, record)
        if batch is not None and metric is None and self.reward_key != FG_ACC:
            raise KeyError(
                f'RLTemperatureHook: reward_key {self.reward_key!r} is not a finite '
                f'value of the train outputs (keys: {sorted(outputs or {})})')
        if self._awaiting is not None and self._last_metric is not None \
                and metric is not None:
            ret = self.reward_sign * self.reward_scale * (metric - self._last_metric)
            agent.add_batch(self._awaiting, ret)  # the global batch's return
            runner.message_hub.update_scalar('train/rl_reward', ret)
        self._awaiting = batch
        self._last_metric = metric
        if temp.acting and (runner.iter + 1) % self.update_interval == 0:
            stats = agent.update(next_batch=batch)
            if stats:
                for k, v in stats.items():
                    runner.message_hub.update_scalar(f'train/rl_{k}', float(v))
        if dist.get_world_size() > 1 and \
                RngStateHook._iter_checkpoint_due(runner):
            self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        self._gather(runner)

    # -- checkpoints -------------------------------------------------------------
    def _rank_state(self, runner) -> dict:
        """This rank's transient state (CPU tensors)."""
        return dict(agent=self._temperature(runner).agent.transient_state(),
                    awaiting=batch_to(self._awaiting, 'cpu'),
                    last_metric=self._last_metric)

    def _gather(self, runner) -> None:
        """Collect every rank's transient state before rank 0 writes a
        checkpoint (a collective; checkpoints are written by rank 0 only)."""
        if dist.get_world_size() > 1:
            self._gathered = dist.all_gather_object(self._rank_state(runner))
            self._gathered_at = (runner.epoch, runner.iter)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = self._temperature(runner).agent.checkpoint_state()
        if dist.get_world_size() > 1:
            if self._gathered is not None and \
                    self._gathered_at == (runner.epoch, runner.iter):
                state['ranks'] = list(self._gathered)
            else:
                MMLogger.get_current_instance().warning(
                    'RLTemperatureHook: checkpoint written outside the scheduled '
                    'points; the ranks\' rollouts are not saved')
        else:
            state['ranks'] = [self._rank_state(runner)]
        checkpoint['rl_temperature'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rl_temperature')
        if state is None:
            MMLogger.get_current_instance().warning(
                'RLTemperatureHook: the checkpoint has no rl_temperature state; '
                'the agent starts from its initialisation')
            return
        agent = self._temperature(runner).agent
        agent.load_checkpoint_state(state)
        if not getattr(runner, '_resume', False):
            return  # load_from: weights only, not a continuation
        ranks = state.get('ranks') or []
        rank, world = dist.get_rank(), dist.get_world_size()
        if len(ranks) != world:
            MMLogger.get_current_instance().warning(
                f'RLTemperatureHook: the checkpoint holds the rollouts of '
                f'{len(ranks)} rank(s), this run has {world}; the rollout in '
                'progress and the reward-model FIFO start empty')
            return
        entry = ranks[rank]
        agent.load_transient_state(entry['agent'])
        device = next(agent.ppo.parameters()).device
        self._awaiting = batch_to(entry['awaiting'], device)
        self._last_metric = entry['last_metric']
        self._resumed = True
