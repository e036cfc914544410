"""Exact resume: save the random number generators' states in checkpoints.

mmengine 0.10.7 does not checkpoint RNG states: on ``--resume`` it re-seeds the
generators only when the checkpoint's seed differs from the config's, so a resumed
run continues from the generator state of a *fresh* process (seeded at start-up and
advanced by model construction), not from where the interrupted run stopped. What
then differs from the uninterrupted run, even with the same seed and data order:

* the RoI head's ``RandomSampler`` (and RPN's) draw from torch's global generator
  (``torch.randperm``), so the sampled RoIs, hence the losses, differ;
* data augmentation (``RandomFlip`` etc.) draws from numpy's / python's generators;
* the DataLoader draws its base seed from torch's generator on every new iterator
  (the seeds of its worker processes).

(The *order* of the data is fine without this hook: ``DefaultSampler`` permutes
with ``seed + epoch``, set by ``DistSamplerSeedHook``.)

:class:`RngStateHook` stores the python, numpy, torch (and CUDA) generator states
in ``checkpoint['rng_state']`` when a checkpoint is written and, when a run
**resumes** (``resume=True`` / ``--resume``; plain ``load_from`` is left alone),
restores them right before the first resumed epoch starts. It also makes
validation *RNG-transparent* during training (states saved before the validation
loop and restored after it), so the training stream is the same whether or not an
evaluation ran in between, as it must be for a resume after a validated epoch.

Distributed runs: every rank has its own generator states. Checkpoints are written
by rank 0 only, so the states of all ranks are gathered (``all_gather_object``)
just before a checkpoint is due and stored as one entry per rank; on resume every
rank takes its own entry (if the world size changed, ranks without an entry keep
the seeded state, with a warning).

Exactness holds for epoch-based loops (``EpochBasedTrainLoop``, what the shapes and
COCO configs use) with ``num_workers=0`` or non-persistent workers (whose seeds
come from torch's generator). ``IterBasedTrainLoop`` re-reads (and re-augments) the
already trained batches to skip them on resume, which advances the generators
again; there the states are restored before that skip, so the resumed stream is
reproducible but not the uninterrupted one. Persistent workers keep their own
generator states, which no checkpoint can reach.

The stored states are plain python containers and tensors, so checkpoints stay
loadable with ``torch.load(weights_only=True)``.

The KD/CTKD configs register it as a named default hook
(``default_hooks.rng_state``), so configs that set their own ``custom_hooks``
keep it.
"""
import logging
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from ctkd_det.registry import HOOKS

__all__ = ['RngStateHook', 'capture_rng_state', 'restore_rng_state']

RNG_STATE_KEY = 'rng_state'
_FORMAT = 1


def capture_rng_state() -> dict:
    """The current python / numpy / torch (/ CUDA) generator states, as plain
    containers and tensors (``weights_only``-loadable)."""
    py_version, py_internal, py_gauss = random.getstate()
    np_name, np_key, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = dict(
        python=dict(version=py_version, internal=list(py_internal),
                    gauss_next=py_gauss),
        numpy=dict(name=str(np_name),
                   key=torch.from_numpy(np.asarray(np_key, dtype=np.int64)),
                   pos=int(np_pos), has_gauss=int(np_has_gauss),
                   cached_gaussian=float(np_gauss)),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def restore_rng_state(state: dict) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py = state['python']
    random.setstate((py['version'], tuple(py['internal']), py['gauss_next']))
    nps = state['numpy']
    np.random.set_state((nps['name'],
                         nps['key'].numpy().astype(np.uint32), nps['pos'],
                         nps['has_gauss'], nps['cached_gaussian']))
    torch.set_rng_state(state['torch'].cpu())
    cuda = state.get('cuda')
    if cuda is not None and torch.cuda.is_available():
        if len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        else:
            print_log(
                f'RngStateHook: the checkpoint has {len(cuda)} CUDA generator '
                f'states, this process sees {torch.cuda.device_count()} devices; '
                'CUDA generators not restored', logger='current',
                level=logging.WARNING)


@HOOKS.register_module()
class RngStateHook(Hook):
    """Checkpoint and restore the RNG states, so that ``--resume`` continues the
    random stream of the interrupted run (see the module docstring)."""

    # First among the ``before_train_epoch`` hooks (restore before anything can
    # draw), and before CheckpointHook (VERY_LOW) in ``after_train_*`` (gather
    # the ranks' states before rank 0 writes them).
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._pending: Optional[dict] = None     # to restore on resume
        self._val_snapshot: Optional[dict] = None
        self._gathered: Optional[List[dict]] = None
        self._gathered_at: Optional[tuple] = None

    # -- saving ------------------------------------------------------------
    def _current(self) -> dict:
        # During a validation inside training, the state that training will
        # continue from is the one saved before the validation (restored after).
        return self._val_snapshot if self._val_snapshot is not None \
            else capture_rng_state()

    def _gather(self, runner) -> None:
        _, world_size = get_dist_info()
        if world_size > 1:
            self._gathered = all_gather_object(self._current())
            self._gathered_at = (runner.epoch, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self._iter_checkpoint_due(runner):
            self._gather(runner)

    def after_train_epoch(self, runner) -> None:
        self._gather(runner)

    @staticmethod
    def _iter_checkpoint_due(runner) -> bool:
        for hook in runner.hooks:
            if isinstance(hook, CheckpointHook) and not hook.by_epoch and (
                    hook.every_n_train_iters(runner, hook.interval,
                                             hook.save_begin)
                    or (hook.save_last and hook.is_last_train_iter(runner))):
                return True
        return False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        _, world_size = get_dist_info()
        if world_size > 1 and self._gathered is not None and \
                self._gathered_at == (runner.epoch, runner.iter):
            ranks = list(self._gathered)
        else:
            ranks = [self._current()]
            if world_size > 1:
                print_log(
                    'RngStateHook: checkpoint written outside the scheduled '
                    'points; only rank 0\'s RNG state is stored',
                    logger='current', level=logging.WARNING)
        checkpoint[RNG_STATE_KEY] = dict(format=_FORMAT, ranks=ranks)

    # -- resuming ------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):
            return  # load_from (fine-tuning, testing): not a continuation
        stored = checkpoint.get(RNG_STATE_KEY)
        if not isinstance(stored, dict) or not stored.get('ranks'):
            print_log(
                'RngStateHook: the checkpoint holds no RNG states (written '
                'without RngStateHook); the resumed run draws different random '
                'numbers (RoI sampling, augmentation) than an uninterrupted run '
                'would', logger='current', level=logging.WARNING)
            return
        rank, world_size = get_dist_info()
        ranks = stored['ranks']
        if len(ranks) != world_size:
            print_log(
                f'RngStateHook: the checkpoint has RNG states of {len(ranks)} '
                f'rank(s), this run has {world_size}; '
                + ('restoring by rank index' if rank < len(ranks)
                   else f'rank {rank} keeps its seeded state'),
                logger='current', level=logging.WARNING)
        if rank < len(ranks):
            self._pending = ranks[rank]

    def _apply_pending(self) -> None:
        if self._pending is not None:
            restore_rng_state(self._pending)
            self._pending = None

    def before_train_epoch(self, runner) -> None:
        self._apply_pending()

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._apply_pending()  # no-op after before_train_epoch

    # -- validation does not perturb training ----------------------------------
    def before_val(self, runner) -> None:
        self._val_snapshot = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._val_snapshot is not None:
            restore_rng_state(self._val_snapshot)
            self._val_snapshot = None
