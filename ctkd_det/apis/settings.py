"""Adapt a shapes config's settings in code: data root, image size and epochs
(``--quick`` and other command-line overrides of the experiment tools; a default
setting is a config file)."""
import os.path as osp
from typing import Sequence

from mmengine.config import Config

SPLITS = ('train', 'val', 'test')


def set_epochs(cfg: Config, max_epochs: int) -> Config:
    """Rescale an epoch-based shapes schedule to ``max_epochs``: loop length, one
    validation at the end, LR steps at 3/4 and 11/12, checkpoint at the end."""
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    for sched in cfg.get('param_scheduler', []) or []:
        if sched.get('type') == 'MultiStepLR':
            sched['end'] = max_epochs
            sched['milestones'] = sorted({max(1, max_epochs * 3 // 4),
                                          max(1, max_epochs * 11 // 12)})
    cfg.default_hooks.checkpoint.interval = max_epochs
    return cfg


def fit_warmup(cfg: Config, total_iters: int) -> Config:
    """A LinearLR warm-up longer than a third of the run is cut to a quarter
    of it (a short run would otherwise spend most of it warming up). At least 2
    iterations: mmengine's LinearLR updates the LR for steps ``begin .. end - 1``
    only, so ``end=1`` would hold the start factor for the whole run."""
    for sched in cfg.get('param_scheduler', []) or []:
        if sched.get('type') == 'LinearLR' and not sched.get('by_epoch', True) \
                and sched.get('end', 0) > total_iters / 3:
            sched['end'] = max(2, total_iters // 4)
    return cfg


def scale_curriculum(cfg: Config, base_epochs: int, epochs: int,
                     iters_per_epoch: int) -> Config:
    """Keep each CurriculumTemperatureHook's ramp at the same share of a run of
    ``epochs`` as of ``base_epochs``: per epoch when that is a whole number of
    epochs, else per iteration."""
    for hook in cfg.get('custom_hooks', []) or []:
        if hook.get('type') != 'CurriculumTemperatureHook':
            continue
        loops, by_epoch = hook.get('loops', 10), hook.get('by_epoch', True)
        share = loops / base_epochs if by_epoch \
            else loops / (base_epochs * iters_per_epoch)
        ramp_epochs = share * epochs
        if abs(ramp_epochs - round(ramp_epochs)) < 1e-9 and ramp_epochs >= 1:
            hook['loops'], hook['by_epoch'] = int(round(ramp_epochs)), True
        else:
            hook['loops'] = max(1, int(round(ramp_epochs * iters_per_epoch)))
            hook['by_epoch'] = False
    return cfg


def rescale_schedule(cfg: Config, epochs: int, iters_per_epoch: int) -> Config:
    """``set_epochs``, then the warm-up fitted to the run (``fit_warmup``) and the
    CTKD curriculum kept at its share of the config's schedule
    (``scale_curriculum``); an identity for the config's own epochs unless its
    warm-up is longer than a third of the run."""
    base_epochs = cfg.train_cfg.max_epochs
    set_epochs(cfg, epochs)
    fit_warmup(cfg, epochs * iters_per_epoch)
    return scale_curriculum(cfg, base_epochs, epochs, iters_per_epoch)


def set_data_root(cfg: Config, data_root: str,
                  splits: Sequence[str] = SPLITS) -> Config:
    """Point the dataloaders (and the evaluators) of ``splits`` of a shapes config
    at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    for split in splits:
        if cfg.get(f'{split}_dataloader') is not None:
            cfg[f'{split}_dataloader'].dataset.data_root = data_root
        evaluator = cfg.get(f'{split}_evaluator')
        if evaluator is not None:
            evaluator.ann_file = osp.join(
                data_root, 'annotations', osp.basename(evaluator.ann_file))
    return cfg


def set_img_size(cfg: Config, size: int) -> Config:
    """Train/test at ``size`` px: every dataloader's ``Resize`` scale (the shapes
    configs resize to 160 px)."""
    for split in SPLITS:
        loader = cfg.get(f'{split}_dataloader')
        if loader is None:
            continue
        for step in loader.dataset.get('pipeline', []):
            if step.get('type') == 'Resize':
                step['scale'] = (size, size)
    return cfg
