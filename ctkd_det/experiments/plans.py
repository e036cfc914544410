"""Run plans: the config files of the results table and the KD ablation, and a
plan's config adapted to settings other than its file's.

Every table cell and every ablation variant is a config file under
``configs/shapes/table/`` or ``configs/shapes/ablation/{scratch,pretrained}/``
(the method, its temperature, the data, the 12-epoch schedule, the teacher and
pretrained-backbone checkpoints of the table's fixed work dir
``work_dirs/experiment``), so that ``python tools/train.py FILE --cfg-options
randomness.seed=S`` alone reproduces a run once the teacher and the pretraining
exist. :func:`load_config` changes a file's config only where the settings of a
command line (``--quick``, ``--epochs``, another work dir, ...) differ from it.
"""
import math
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config

from ctkd_det.apis.settings import (rescale_schedule, set_data_root,
                                    set_img_size)
from .runs import CONFIG_LOCK, REPO

SHAPES = osp.join(REPO, 'configs', 'shapes')
TABLE_DIR = osp.join(SHAPES, 'table')
ABLATION_DIR = osp.join(SHAPES, 'ablation')
# the table's cells in its order; its stage runs (trained first): TEACHER, PRETRAIN
TABLE_METHODS = ('none', 'kd-t1', 'kd-t2', 'kd-t4', 'ctkd-global',
                 'ctkd-instance', 'rlkd', 'dkd', 'kd-fgbg')
TEACHER, PRETRAIN = 'teacher', 'pretrain'
ABLATION_VARIANTS = (
    'none', 'kd-t1', 'kd-t4', 'kd-t4-w0', 'kd-t4-w0.25', 'kd-t4-w0.0625',
    'ctkd-global', 'ctkd-global-tmax4', 'ctkd-global-w0.0625', 'kd-t4-head',
    'kd-t4-sepfc-head', 'none-sepfc', 'kd-t4-sepfc')
ABLATION_INITS = ('scratch', 'pretrained')
KEEP = object()  # load_config(backbone=KEEP): the file's backbone init
# generator seeds of the data sets: the table's train/val 0, the ablation's dev
# split 1, the backbone pretraining's separate set 2
TABLE_DATA_SEED, DEV_DATA_SEED, PRETRAIN_DATA_SEED = 0, 1, 2


def table_config(name: str) -> str:
    """The config file of a table cell (``TABLE_METHODS``), of its ``teacher`` or
    of its backbone ``pretrain``ing."""
    return osp.join(TABLE_DIR, f'{name}.py')


def ablation_config(variant: str, init: str = 'scratch') -> str:
    """The config file of an ablation variant; ``init``: the student backbone,
    ``scratch`` or ``pretrained`` (the table's pretraining run)."""
    if init not in ABLATION_INITS:
        raise ValueError(f'init {init!r}: one of {ABLATION_INITS}')
    return osp.join(ABLATION_DIR, init, f'{variant}.py')


def table_plan(methods=TABLE_METHODS) -> Dict[str, str]:
    """Method -> config file, for the methods whose file exists."""
    return {m: table_config(m) for m in methods if osp.isfile(table_config(m))}


def _same_path(a: Optional[str], b: Optional[str]) -> bool:
    """The same file or directory for a run started in the repository."""
    if a is None or b is None:
        return a is b
    return osp.normpath(osp.join(REPO, a.rstrip('/'))) == \
        osp.normpath(osp.join(REPO, b.rstrip('/')))


def load_config(path: str, seed: Optional[int] = None, *,
                data_root: Optional[str] = None,
                val_root: Optional[str] = None, size: Optional[int] = None,
                batch_size: int = 0, epochs: Optional[int] = None,
                num_train: Optional[int] = None,
                teacher_ckpt: Optional[str] = None, backbone=KEEP,
                cfg_options: Optional[dict] = None) -> Config:
    """The config file ``path`` with ``randomness.seed = seed``, adapted to the
    settings given (None / 0 / KEEP: the file's):

    * ``data_root``: the training data (and the val/test data unless
      ``val_root`` is given); ``val_root``: the val/test data;
    * ``size``: image side in px; ``batch_size``: of every dataloader;
    * ``epochs`` on ``num_train`` training images: the schedule rescaled
      (``rescale_schedule``: LR steps, the warm-up cut in a short run, the CTKD
      curriculum's share kept);
    * ``teacher_ckpt``: the teacher checkpoint of a distillation config
      (ignored by a config that does not distil);
    * ``backbone``: the student backbone's pretrained checkpoint (None: from
      scratch);
    * ``cfg_options``: merged last (``--cfg-options``).

    Paths equal to the file's once resolved (runs start in the repository) keep
    the file's spelling, so that a default setting gives the file's config.
    """
    with CONFIG_LOCK:
        cfg = Config.fromfile(path)
    if data_root is not None:
        if not _same_path(data_root, cfg.train_dataloader.dataset.data_root):
            set_data_root(cfg, data_root,
                          ('train',) if val_root is not None else
                          ('train', 'val', 'test'))
        val_root = data_root if val_root is None else val_root
    if val_root is not None and not _same_path(
            val_root, cfg.val_dataloader.dataset.data_root):
        set_data_root(cfg, val_root, ('val', 'test'))
    if size:
        set_img_size(cfg, size)
    if batch_size:
        for split in ('train', 'val', 'test'):
            cfg[f'{split}_dataloader'].batch_size = batch_size
    if epochs is not None or num_train is not None:
        if num_train is None:
            raise ValueError('load_config: epochs need num_train (the '
                             'iterations of an epoch)')
        rescale_schedule(cfg, epochs or cfg.train_cfg.max_epochs,
                         math.ceil(num_train / cfg.train_dataloader.batch_size))
    if seed is not None:
        cfg.randomness = dict(cfg.get('randomness', {}) or {}, seed=seed)
    if teacher_ckpt is not None and 'teacher_config' in cfg.model and \
            not _same_path(teacher_ckpt, cfg.model.teacher_ckpt):
        cfg.model.teacher_ckpt = teacher_ckpt
    if backbone is not KEEP:
        init = cfg.model.backbone.get('init_cfg')
        current = init.get('checkpoint') if init and \
            init.get('type') == 'Pretrained' else None
        if not _same_path(backbone, current):
            cfg.model.backbone.init_cfg = None if backbone is None else dict(
                type='Pretrained', checkpoint=backbone, prefix='backbone.')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
