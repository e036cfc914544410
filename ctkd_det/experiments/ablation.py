"""Why does KD hurt the shapes student? The KD ablation on a *dev* split.

The results table reports on the shapes val split; tuning anything on it would
bias that table. The ablation evaluates on a separate dev split (the same
generator, seed 1: images the table never sees), with the same training images
and the table's teacher, and varies one thing at a time: every variant is a config
file, ``configs/shapes/ablation/<init>/<variant>.py`` (``init``: the student
backbone from ``scratch`` or ``pretrained`` by the table's pretraining run), see
the files for what each varies. Runs are cached like the table's.
"""
import argparse
import os.path as osp
import statistics
import threading

from ctkd_det.datasets import make_shapes
from . import plans
from .pool import JobPool
from .results import METRICS, write_ablation
from .runs import REPO, train_cached
from .table import pretrain_backbone

VARIANTS = plans.ABLATION_VARIANTS
# the table's data (training) and the dev split (evaluation); the dev set's
# training images are never used
DATA = dict(num_train=128, num_val=64, size=160)
DEV_DATA = dict(num_train=8, num_val=64, size=160)


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """``init`` from ``pretrain_epochs``, the default work dir, absolute paths and
    the plan (``args.plan``: (variant, seed) pairs, from ``runs`` if given).
    ValueError for a malformed ``runs`` item, FileNotFoundError when the teacher
    checkpoint is missing."""
    args.init = 'pretrained' if args.pretrain_epochs else 'scratch'
    args.work_dir = args.work_dir or f'work_dirs/ablation_{args.init}'
    for key in ('teacher_ckpt', 'data_root', 'dev_root', 'work_dir', 'out',
                'experiment_work_dir'):
        path = getattr(args, key)
        setattr(args, key, path if osp.isabs(path) else osp.join(REPO, path))
    if not osp.isfile(args.teacher_ckpt):
        raise FileNotFoundError(
            f'teacher checkpoint {args.teacher_ckpt} not found: run '
            'tools/experiment.py first (it trains it)')
    if args.runs:
        plan = []
        for item in args.runs:
            v, _, seed = item.partition('/')
            if v not in VARIANTS or not seed.isdigit():
                raise ValueError(f'--runs: {item!r} is not VARIANT/SEED with '
                                 f'VARIANT in {list(VARIANTS)}')
            plan.append((v, int(seed)))
        args.variants = list(dict.fromkeys(v for v, _ in plan))
        args.seeds = sorted({s for _, s in plan})
    else:
        plan = [(v, s) for s in args.seeds for v in args.variants]
    args.plan = plan
    args.size, args.batch_size = DATA['size'], 0
    args.num_train, args.num_val = DATA['num_train'], DATA['num_val']
    args.cfg_options = None
    return args


def variant_config(variant: str, seed: int, args, backbone=None):
    """A variant's config under ``args`` (``teacher_ckpt``, ``data_root``,
    ``dev_root``, ``epochs``, ``size``, ``num_train``, ``batch_size``):
    ``backbone`` the pretraining's checkpoint (the ``pretrained`` files) or None
    (the ``scratch`` files)."""
    init = 'pretrained' if backbone else 'scratch'
    return plans.load_config(
        plans.ablation_config(variant, init), seed, data_root=args.data_root,
        val_root=args.dev_root, size=args.size, batch_size=args.batch_size,
        epochs=args.epochs, num_train=args.num_train,
        teacher_ckpt=args.teacher_ckpt, backbone=backbone,
        cfg_options=args.cfg_options)


def run(args, log=print) -> dict:
    """Train the plan ``args.plan`` (see ``resolve``) and write
    ``ablation_<init>.{json,md}`` into ``args.out``; returns the result (its
    ``lines``: the markdown table)."""
    make_shapes(args.data_root, DATA['num_train'], DATA['num_val'],
                DATA['size'], seed=plans.TABLE_DATA_SEED)
    make_shapes(args.dev_root, DEV_DATA['num_train'], DEV_DATA['num_val'],
                DEV_DATA['size'], seed=plans.DEV_DATA_SEED)

    backbone = None
    if args.pretrain_epochs:  # the table's pretraining run (its work dir)
        pre_args = argparse.Namespace(**dict(
            vars(args), work_dir=args.experiment_work_dir, teacher_seed=0,
            benchmark='shapes', eval_split='val'))
        backbone = pretrain_backbone(pre_args, log=log, threads=args.threads)

    plan = args.plan
    cfgs = {(v, s): variant_config(v, s, args,
                                   backbone and backbone['checkpoint'])
            for v, s in plan}
    runs, lock = {}, threading.Lock()

    def one(k, v, s):
        name = f'{v}/seed{s}'
        log(f'=== ablation run {k}/{len(plan)}: {name}')
        rec = train_cached(cfgs[(v, s)],
                           osp.join(args.work_dir, v, f'seed{s}'), name=name,
                           log=log, threads=args.threads)
        with lock:
            runs[(v, s)] = dict(variant=v, seed=s, seconds=rec['seconds'],
                                **{m: rec['metrics'][m] for m in METRICS})

    JobPool(args.jobs, args.threads).run(
        [lambda k=k, v=v, s=s: one(k, v, s)
         for k, (v, s) in enumerate(plan, start=1)])

    rows = [runs[k] for k in plan]
    summary = {v: dict({m: statistics.fmean(r[m] for r in rows
                                            if r['variant'] == v)
                        for m in METRICS},
                       seeds=[r['seed'] for r in rows if r['variant'] == v])
               for v in args.variants}
    result = dict(
        command='python tools/kd_ablation.py ' + ' '.join(args.argv),
        split='dev (generator seed 1, 64 images); training: the table\'s 128',
        init=args.init, pretrain_epochs=args.pretrain_epochs,
        teacher_ckpt=osp.relpath(args.teacher_ckpt, REPO),
        epochs=args.epochs, seeds=args.seeds, runs=rows, mean=summary)
    result['lines'] = write_ablation(args.out, result)
    return result
