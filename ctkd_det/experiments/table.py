"""A benchmark's results table: no KD vs KD vs learned temperatures (CTKD, RLKD),
R50-FPN teacher -> R18-FPN student, over several seeds.

A plan of config files (``plans``; the benchmark, shapes or glyphs, is a
``plans.Benchmark``): the teacher (``table/teacher.py``) and the backbone
pretraining (``table/pretrain.py``, the student alone on a separate generated
set) are trained first, alone, with the threads of all ``jobs`` slots; then every
method's cell (``table/<method>.py``) for every seed, ``jobs`` runs at a time,
each a cached run (``runs.train_cached``: an interrupted table resumes where it
stopped). ``results.json`` / ``results.md`` are rewritten after every run (a
partial table is readable while it runs), plus ``curves_seed<S>.png``: the
temperature, λ and loss_kd of the first seed's distillation runs.

The benchmark's ``full`` setting is the config files' (their configs are used
unchanged); ``quick`` and other options adapt them (``plans.load_config``).
``eval_split`` ``dev`` (a benchmark with a dev split) evaluates every run on it,
in work and output dirs of its own, so that tuning never sees the val numbers.
"""
import argparse
import fcntl
import os
import os.path as osp
import platform
import statistics
import threading
from contextlib import contextmanager
from typing import Dict, List, Optional

from . import plans
from .curves import plot_curves
from .pool import JobPool
from .results import (METRICS, aggregate, fmt_time, paired_deltas,
                      twin_deltas, write_results)
from .runs import REPO, is_cached, train_cached

# the shapes table's settings (the names before there were several benchmarks)
FULL = plans.BENCHMARKS['shapes'].full
QUICK = plans.BENCHMARKS['shapes'].quick
REFERENCE = 'none'  # the paired differences' reference method
SPLITS = ('train', 'dev', 'val')  # --num-<split>: images per split


def available_methods(bench: str = 'shapes') -> List[str]:
    """The benchmark's table methods whose config file exists."""
    return list(plans.table_plan(bench=bench))


def split_counts(args, splits) -> Dict[str, int]:
    """Images per split (``{split: n}``, the generator's order) of ``args``."""
    return {split: getattr(args, f'num_{split}') for split in splits}


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the options left None from the benchmark's ``full`` setting (or its
    ``quick`` one with ``quick``), check them (ValueError) and make the paths
    absolute (in the repository). Default benchmark ``shapes``, evaluation
    split ``val``; another split's default work dir and output dir are the
    val ones + ``_<split>`` and ``/<split>``."""
    for key, value in dict(benchmark='shapes', eval_split='val').items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    bench = plans.benchmark(args.benchmark)
    if args.eval_split not in bench.eval_splits:
        raise ValueError(f'--eval-split {args.eval_split}: the {bench.name} '
                         f'set has no {args.eval_split} split (evaluation '
                         f'splits: {", ".join(bench.eval_splits)})')
    methods = available_methods(bench.name)
    base = dict(bench.full, methods=methods, threads=0)
    if args.quick:
        base.update(bench.quick, methods=[m for m in bench.quick['methods']
                                          if m in methods])
    if args.eval_split != 'val':
        base.update(work_dir=f'{base["work_dir"]}_{args.eval_split}',
                    out=osp.join(base['out'], args.eval_split))
    for split in SPLITS:  # a split the benchmark does not generate
        if split not in bench.splits:
            if getattr(args, f'num_{split}', None) is not None:
                raise ValueError(f'--num-{split}: the {bench.name} set has no '
                                 f'{split} split')
            setattr(args, f'num_{split}', 0)
    for key, value in base.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.jobs < 1:
        raise ValueError('--jobs must be >= 1')
    if args.jobs > 1 and not args.threads:
        args.threads = 1
    unknown = [m for m in args.methods if m not in bench.all_methods]
    if unknown:
        raise ValueError(f'unknown methods {unknown} for {bench.name}; choose '
                         f'from {list(bench.all_methods)}')
    missing = [m for m in args.methods if not osp.isfile(bench.config(m))]
    if missing:
        raise ValueError(f'no config for {missing}: '
                         f'{[bench.config(m) for m in missing]}')
    args.methods = list(dict.fromkeys(args.methods))
    args.seeds = list(dict.fromkeys(args.seeds))
    if args.pretrain_epochs < 0:
        raise ValueError('--pretrain-epochs must be >= 0')
    counts = split_counts(args, bench.splits)
    if min(args.epochs, args.teacher_epochs, *counts.values(), args.size) < 1:
        raise ValueError('epochs, sizes and counts must be >= 1')
    if args.data_root is None:
        default = split_counts(argparse.Namespace(**bench.full), bench.splits)
        args.data_root = bench.data_root \
            if (counts, args.size) == (default, bench.full['size']) else \
            f'{bench.data_root}_{"x".join(map(str, counts.values()))}_' \
            f'{args.size}px'
    for key in ('data_root', 'work_dir', 'out'):
        path = getattr(args, key)
        setattr(args, key, path if osp.isabs(path) else osp.join(REPO, path))
    return args


def _load(name: str, args, epochs: int, seed: int, **kwargs):
    """A table file's config (``name``: a cell, ``teacher`` or ``pretrain``)
    under the settings ``args``, evaluated on ``args.eval_split``."""
    bench = plans.benchmark(args.benchmark)
    cfg = plans.load_config(
        bench.config(name), seed, data_root=args.data_root, size=args.size,
        batch_size=args.batch_size, epochs=epochs, num_train=args.num_train,
        cfg_options=args.cfg_options, **kwargs)
    if args.eval_split != 'val':
        bench.set_eval_split(cfg, args.eval_split)
    return cfg


def teacher_config(args):
    return _load(plans.TEACHER, args, args.teacher_epochs, args.teacher_seed)


def pretrain_root(args) -> str:
    """The backbone pretraining's generated set: ``<data_root>_pretrain``."""
    return args.data_root.rstrip('/') + '_pretrain'


def pretrain_config(args):
    """The backbone pretraining's config: on ``<data_root>_pretrain``."""
    pre_args = argparse.Namespace(**dict(vars(args),
                                         data_root=pretrain_root(args)))
    return _load(plans.PRETRAIN, pre_args, args.pretrain_epochs,
                 args.teacher_seed)


def student_config(method: str, seed: int, args, teacher_ckpt: str,
                   backbone: Optional[str]):
    """A cell's config: ``teacher_ckpt`` for a distilling method, ``backbone``:
    the pretraining's checkpoint (None: students from scratch)."""
    return _load(method, args, args.epochs, seed, teacher_ckpt=teacher_ckpt,
                 backbone=backbone)


def make_data(args) -> dict:
    """The table's generated set (``args.data_root``); the generator's record
    (``generated``: False when it was up to date)."""
    bench = plans.benchmark(args.benchmark)
    return bench.generate(args.data_root, split_counts(args, bench.splits),
                          args.size, bench.data_seed)


def make_pretrain_data(args) -> dict:
    """The backbone pretraining's *separate* generated set (``pretrain_root``):
    the benchmark's pretraining generator seed (2: no image of the table's
    splits), the training split as large as the table's, every other split a
    quarter of the table's (at least 8 images). The generator's record."""
    bench = plans.benchmark(args.benchmark)
    counts = {split: n if split == 'train' else max(8, n // 4)
              for split, n in split_counts(args, bench.splits).items()}
    return bench.generate(pretrain_root(args), counts, args.size,
                          bench.pretrain_data_seed)


def pretrain_backbone(args, log=print, threads: int = 0) -> Optional[dict]:
    """Stage 0: the student detector trained alone on a separate generated set
    (``make_pretrain_data``), whose backbone initialises every student of the
    table. None with ``pretrain_epochs`` 0."""
    if not args.pretrain_epochs:
        return None
    info = make_pretrain_data(args)
    work_dir = osp.join(args.work_dir, 'pretrain')
    rec = train_cached(pretrain_config(args), work_dir,
                       name='backbone pretraining', log=log, threads=threads)
    return dict(checkpoint=rec['checkpoint'], metrics=rec['metrics'],
                seconds=rec['seconds'], cached=rec['cached'],
                data_root=pretrain_root(args), work_dir=work_dir,
                seed=info['seed'])


@contextmanager
def exclusive(work_dir: str):
    """One experiment per work dir at a time (runs would overwrite each other);
    SystemExit if another holds it."""
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, '.experiment.lock'), 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise SystemExit(f'another tools/experiment.py is running in '
                             f'{work_dir}')
        yield


def run(args, log=print) -> dict:
    """Train the table's plan under the settings ``args`` (see ``resolve``);
    returns the result written to ``args.out`` (plus ``failed``: run names)."""
    bench = plans.benchmark(args.benchmark)
    pool = JobPool(args.jobs, args.threads)
    info = make_data(args)
    state = 'generated' if info['generated'] else 'up to date'
    log(f'data: {args.data_root} ({state})')

    total = 1 + len(args.methods) * len(args.seeds)
    result = dict(
        command='python tools/experiment.py ' + ' '.join(args.argv),
        settings=dict(epochs=args.epochs, teacher_epochs=args.teacher_epochs,
                      pretrain_epochs=args.pretrain_epochs,
                      benchmark=bench.name, eval_split=args.eval_split,
                      **{f'num_{split}': n for split, n in
                         split_counts(args, bench.splits).items()},
                      size=args.size, seeds=args.seeds, methods=args.methods,
                      batch_size=args.batch_size or 8,
                      data_root=args.data_root, work_dir=args.work_dir,
                      teacher_seed=args.teacher_seed,
                      quick=args.quick, cfg_options=args.cfg_options_raw,
                      threads=str(args.threads) if args.threads else
                      os.environ.get('OMP_NUM_THREADS', 'default'),
                      jobs=args.jobs,
                      host=f'{platform.machine()}, {os.cpu_count()} CPUs'),
        teacher=None, runs=[], methods={}, total=total, finished=0,
        reference=REFERENCE, deltas={},
        twins={m: t for m, t in bench.twins.items() if m in args.methods},
        twin_deltas={})

    # 1. the teacher, alone
    log(f'=== run 1/{total}: teacher ({args.teacher_epochs} epochs)')
    teacher = train_cached(teacher_config(args),
                           osp.join(args.work_dir, 'teacher'), name='teacher',
                           log=log, threads=pool.alone_threads)
    result['teacher'] = dict(
        metrics=teacher['metrics'], seconds=teacher['seconds'],
        cached=teacher['cached'], checkpoint=teacher['checkpoint'],
        work_dir=osp.join(args.work_dir, 'teacher'), seed=args.teacher_seed)
    result['finished'] = 1
    write_results(args.out, result)

    # 1b. the students' backbone, alone (as detection students start from
    # ImageNet weights; from scratch, 12 epochs of the same config ranged
    # 0.08-0.15 mAP over two seeds on the dev split)
    if args.pretrain_epochs:
        log(f'=== backbone pretraining ({args.pretrain_epochs} epochs, '
            'separate generated set)')
    backbone = pretrain_backbone(args, log=log, threads=pool.alone_threads)
    if backbone is not None:
        result['pretrain'] = backbone
        write_results(args.out, result)

    # 2. the students: configs first, so that cached runs are known for the ETA
    plan = []
    for seed in args.seeds:  # seed-major: a partial table has every method
        for method in args.methods:
            cfg = student_config(method, seed, args, teacher['checkpoint'],
                                 backbone and backbone['checkpoint'])
            work = osp.join(args.work_dir, method, f'seed{seed}')
            plan.append(dict(method=method, seed=seed, cfg=cfg, work_dir=work,
                             cached=is_cached(cfg, work)))
    to_train = sum(not p['cached'] for p in plan)
    log(f'{len(plan)} student runs: {len(plan) - to_train} cached, '
        f'{to_train} to train')

    trained, failed = [], []
    entries = [None] * len(plan)
    lock = threading.Lock()

    def announce(k: int, p: dict) -> None:
        with lock:
            pending = sum(not q['cached'] for q in plan[k - 2:])
            ref = trained or [r['seconds'] for r in result['runs']
                              if 'seconds' in r]
            per_slot = max(1, min(args.jobs, pending))
            eta = (f'ETA {fmt_time(statistics.fmean(ref) * pending / per_slot)}'
                   f' for {pending} run(s) to train' if ref and pending else
                   'ETA after the first run' if pending else 'cached')
            log(f'=== run {k}/{total}: {p["method"]}/seed{p["seed"]} ({eta})')

    def train_one(k: int, p: dict) -> None:
        announce(k, p)
        name = f'{p["method"]}/seed{p["seed"]}'
        entry = dict(method=p['method'], seed=p['seed'],
                     work_dir=p['work_dir'])
        try:
            rec = train_cached(p['cfg'], p['work_dir'], name=name, log=log,
                               threads=pool.threads)
        except RuntimeError as e:
            log(f'[{name}] FAILED: {e}')
            entry['error'] = str(e).splitlines()[0][:200]
            with lock:
                failed.append(name)
        else:
            entry.update({k2: rec['metrics'][k2] for k2 in METRICS},
                         seconds=rec['seconds'], cached=rec['cached'])
        with lock:
            if 'seconds' in entry and not entry['cached']:
                trained.append(entry['seconds'])
            entries[k - 2] = entry
            # the table keeps the plan's order whatever order runs finish in
            result['runs'] = [e for e in entries if e is not None]
            result['methods'] = aggregate(result['runs'])
            result['deltas'] = paired_deltas(result['runs'], REFERENCE)
            result['twin_deltas'] = twin_deltas(result['runs'],
                                                result['twins'])
            result['finished'] = 1 + len(result['runs'])
            write_results(args.out, result)

    # cached runs first (instant), then up to `jobs` trainings at a time
    order = sorted(enumerate(plan, start=2), key=lambda kp: not kp[1]['cached'])
    pool.run([lambda k=k, p=p: train_one(k, p) for k, p in order])

    # 3. the curves of the first seed's distillation runs
    seed = args.seeds[0]
    curve_runs = {r['method']: r['work_dir'] for r in result['runs']
                  if r['seed'] == seed and r['method'] != 'none'  # no KD
                  and 'error' not in r}
    if curve_runs:
        png = osp.join(args.out, f'curves_seed{seed}.png')
        try:
            summary = plot_curves(curve_runs, png,
                                  title=f'{bench.name}, seed {seed}')
        except (FileNotFoundError, ValueError) as e:
            log(f'curves: not drawn: {e}')
        else:
            result.update(curves=png, curves_seed=seed,
                          curves_summary=summary['runs'])
            log(f'curves: {png}')
    write_results(args.out, result)
    result['failed'] = failed
    return result
