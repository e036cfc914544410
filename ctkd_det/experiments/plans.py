"""Run plans: the benchmarks' results tables and the KD ablation as config files,
and a plan's config adapted to settings other than its file's.

Every table cell and every ablation variant is a config file under
``configs/<benchmark>/table/`` or
``configs/shapes/ablation/{scratch,pretrained}/``
(the method, its temperature, the data, the 12-epoch schedule, the teacher and
pretrained-backbone checkpoints of the table's fixed work dir, e.g.
``work_dirs/experiment`` for shapes), so that ``python tools/train.py FILE
--cfg-options randomness.seed=S`` alone reproduces a run once the teacher and the
pretraining exist. :func:`load_config` changes a file's config only where the
settings of a command line (``--quick``, ``--epochs``, another work dir, ...)
differ from it.

What differs between benchmarks (shapes, glyphs) is a :class:`Benchmark` in
``BENCHMARKS``: its table's files and methods, its data generator and splits, its
full and quick settings and its fixed-temperature twins; the table code
(``table``) reads only that.
"""
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

from mmengine.config import Config

from ctkd_det.apis.settings import (rescale_schedule, set_data_root,
                                    set_img_size)
from ctkd_det.datasets import make_glyphs, make_shapes
from ctkd_det.datasets.glyphs import set_eval_split as set_glyphs_eval_split
from .runs import CONFIG_LOCK, REPO

SHAPES = osp.join(REPO, 'configs', 'shapes')
GLYPHS = osp.join(REPO, 'configs', 'glyphs')
ABLATION_DIR = osp.join(SHAPES, 'ablation')
TEACHER, PRETRAIN = 'teacher', 'pretrain'  # a table's stage runs (trained first)
ABLATION_VARIANTS = (
    'none', 'kd-t1', 'kd-t4', 'kd-t4-w0', 'kd-t4-w0.25', 'kd-t4-w0.0625',
    'ctkd-global', 'ctkd-global-tmax4', 'ctkd-global-w0.0625', 'kd-t4-head',
    'kd-t4-sepfc-head', 'none-sepfc', 'kd-t4-sepfc')
ABLATION_INITS = ('scratch', 'pretrained')
KEEP = object()  # load_config(backbone=KEEP): the file's backbone init
# generator seeds of the data sets: the tables' train/val 0, the shapes
# ablation's dev split 1, the backbone pretraining's separate set 2
TABLE_DATA_SEED, DEV_DATA_SEED, PRETRAIN_DATA_SEED = 0, 1, 2


@dataclass(frozen=True)
class Benchmark:
    """One generated benchmark's results table: everything ``table`` needs to
    know about it.

    * ``table_dir``: the table's config files, ``<method>.py``, ``teacher.py``,
      ``pretrain.py``; ``methods``: the cells in table order;
    * ``splits``: the generated splits, in the generator's order (``train``
      first; ``val`` the table's evaluation split, ``dev`` one for tuning);
      ``generate(root, counts, size, seed)``: writes a set of ``counts``
      images per split (``{split: n}``), returns the generator's record;
    * ``set_eval_split(cfg, split)``: points a config's val/test loaders and
      evaluators at another split (None: only ``val``);
    * ``data_root``: the set of the default sizes (other sizes:
      ``<data_root>_<counts>_<size>px``); its backbone pretraining set is
      ``<data_root>_pretrain`` (generator seed ``pretrain_data_seed``);
    * ``full``: the config files' own settings (epochs of the teacher, the
      pretraining and the students, image counts and size, seeds, the work and
      output dirs); ``quick``: ``--quick``'s (methods and threads too);
    * ``twins``: a learned-temperature method -> the fixed-temperature method
      it replaces (same loss), for the paired differences between them;
    * ``optional_methods``: cells the table runs only when ``--methods`` names
      them (``all_methods``: ``methods`` + these).
    """
    name: str
    title: str
    table_dir: str
    methods: Tuple[str, ...]
    splits: Tuple[str, ...]
    generate: Callable[[str, Dict[str, int], int, int], dict]
    data_root: str
    full: dict
    quick: dict
    twins: Dict[str, str] = field(default_factory=dict)
    set_eval_split: Optional[Callable] = None
    data_seed: int = TABLE_DATA_SEED
    pretrain_data_seed: int = PRETRAIN_DATA_SEED
    optional_methods: Tuple[str, ...] = ()

    @property
    def all_methods(self) -> Tuple[str, ...]:
        """Every cell of the table: the default ``methods``, then the
        optional ones."""
        return self.methods + self.optional_methods

    @property
    def eval_splits(self) -> Tuple[str, ...]:
        """The splits a table may be evaluated on."""
        return ('val', 'dev') if self.set_eval_split and 'dev' in self.splits \
            else ('val',)

    def config(self, name: str) -> str:
        """The config file of a cell (``methods``), of the ``teacher`` or of
        the backbone ``pretrain``ing."""
        return osp.join(self.table_dir, f'{name}.py')


def _generate_shapes(root: str, counts: Dict[str, int], size: int,
                     seed: int) -> dict:
    return make_shapes(root, counts['train'], counts['val'], size, seed=seed)


def _generate_glyphs(root: str, counts: Dict[str, int], size: int,
                     seed: int) -> dict:
    return make_glyphs(root, counts['train'], counts['dev'], counts['val'],
                       size, seed)


BENCHMARKS: Dict[str, Benchmark] = {
    'shapes': Benchmark(
        name='shapes',
        title='Shapes: KD vs CTKD (R50-FPN teacher -> R18-FPN student)',
        table_dir=osp.join(SHAPES, 'table'),
        methods=('none', 'kd-t1', 'kd-t2', 'kd-t4', 'ctkd-global',
                 'ctkd-instance', 'rlkd', 'dkd', 'kd-fgbg', 'ctkd-global-fgbg'),
        splits=('train', 'val'), generate=_generate_shapes,
        data_root='data/shapes',
        full=dict(epochs=12, teacher_epochs=20, pretrain_epochs=12,
                  num_train=128, num_val=64, size=160, seeds=[0, 1, 2],
                  work_dir='work_dirs/experiment', out='docs'),
        quick=dict(epochs=6, teacher_epochs=8, pretrain_epochs=6,
                   num_train=64, num_val=32, size=160, seeds=[0],
                   work_dir='work_dirs/experiment_quick', out='docs/quick',
                   methods=['none', 'kd-t4', 'ctkd-global', 'ctkd-instance'],
                   threads=1),
        # CTKD and RLKD learn the T that KD at T = 4 fixes
        twins={'ctkd-global': 'kd-t4', 'ctkd-instance': 'kd-t4',
               'rlkd': 'kd-t4', 'ctkd-global-fgbg': 'kd-fgbg'}),
    'glyphs': Benchmark(
        name='glyphs',
        title='Glyphs: KD vs CTKD (R50-FPN teacher -> R18-FPN student)',
        table_dir=osp.join(GLYPHS, 'table'),
        # the rows plus CTKD on fg/bg KD (11 cells); the two after them
        # run with --methods only
        methods=('none', 'kd-t1', 'kd-t4', 'kd-fgbg', 'dkd', 'ctkd-global',
                 'ctkd-instance', 'ctkd-global-dkd', 'ctkd-instance-dkd',
                 'ctkd-global-fgbg', 'rlkd-fgbg'),
        optional_methods=('rlkd-dkd', 'kd-fgbg-t21'),
        splits=('train', 'dev', 'val'), generate=_generate_glyphs,
        set_eval_split=set_glyphs_eval_split, data_root='data/glyphs',
        full=dict(epochs=6, teacher_epochs=24, pretrain_epochs=12,
                  num_train=256, num_dev=64, num_val=128, size=192,
                  seeds=[0, 1, 2], work_dir='work_dirs/glyphs_table',
                  out='docs/glyphs'),
        quick=dict(epochs=4, teacher_epochs=6, pretrain_epochs=4,
                   num_train=64, num_dev=16, num_val=32, size=192, seeds=[0],
                   work_dir='work_dirs/glyphs_table_quick',
                   out='docs/glyphs/quick',
                   methods=['none', 'kd-t1', 'dkd', 'ctkd-global-dkd'],
                   threads=1),
        # the detection recipe's T = 1 on KD, DKD and fg/bg KD, learned instead
        twins={'ctkd-global': 'kd-t1', 'ctkd-instance': 'kd-t1',
               'ctkd-global-dkd': 'dkd', 'ctkd-instance-dkd': 'dkd',
               'rlkd-dkd': 'dkd', 'ctkd-global-fgbg': 'kd-fgbg',
               'rlkd-fgbg': 'kd-fgbg'}),
}


def benchmark(name: str) -> Benchmark:
    """The benchmark ``name`` (ValueError for an unknown one)."""
    if name not in BENCHMARKS:
        raise ValueError(f'unknown benchmark {name!r}; choose from '
                         f'{list(BENCHMARKS)}')
    return BENCHMARKS[name]


# the shapes table (the names before there were several benchmarks)
TABLE_DIR = BENCHMARKS['shapes'].table_dir
TABLE_METHODS = BENCHMARKS['shapes'].methods


def table_config(name: str, bench: str = 'shapes') -> str:
    """The config file of a cell of benchmark ``bench``'s table, of its
    ``teacher`` or of its backbone ``pretrain``ing."""
    return benchmark(bench).config(name)


def ablation_config(variant: str, init: str = 'scratch') -> str:
    """The config file of an ablation variant; ``init``: the student backbone,
    ``scratch`` or ``pretrained`` (the table's pretraining run)."""
    if init not in ABLATION_INITS:
        raise ValueError(f'init {init!r}: one of {ABLATION_INITS}')
    return osp.join(ABLATION_DIR, init, f'{variant}.py')


def table_plan(methods=None, bench: str = 'shapes') -> Dict[str, str]:
    """Method -> config file, for the methods (default: the benchmark's default
    rows) whose file exists."""
    b = benchmark(bench)
    return {m: b.config(m) for m in (b.methods if methods is None else methods)
            if osp.isfile(b.config(m))}


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
