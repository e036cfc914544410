"""The shapes results table: no KD vs KD (T = 1, 2, 4) vs CTKD (global, instance).

On the generated shapes set (tools/make_shapes.py), trains one R50-FPN teacher
and one backbone pretraining run (the R18-FPN student alone on a *separate*
generated set: detection students start from ImageNet backbones, and from scratch
two seeds of the same 12-epoch student scored 0.08 and 0.15 mAP on the dev split),
then the R18-FPN student under every method over several seeds, ``--jobs`` runs
at a time, each as a ``tools/train.py`` process through
``ctkd_det.apis.train_cached`` (a run whose config -- seed, teacher and backbone
included -- is unchanged and finished is not trained again, so an interrupted table
resumes where it stopped), and writes ``results.json`` and ``results.md`` into
``--out`` (after every run, so a partial table is readable while it runs) plus
``curves_seed<S>.png``: temperature, λ and loss_kd of the distillation runs of the
first seed (tools/plot_curves.py).

    python tools/experiment.py --jobs 2               # full table, ~1 h on 2 cores
    python tools/experiment.py --quick                # < 15 min on 2 cores
    python tools/experiment.py --methods none ctkd-global --seeds 0 1 2 --epochs 6

Methods: none (student alone), kd-t1 / kd-t2 / kd-t4 (vanilla KD, fixed T),
ctkd-global, ctkd-instance, and rlkd when
configs/shapes/faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py exists.

Full setting (defaults): 128 train / 64 val images of 160 px, teacher 20 epochs,
backbone pretraining 12 epochs (128 images, generator seed 2), students 12 epochs
(192 iterations at batch 8), seeds 0 1 2, all methods: 2 + 3 x 7 runs. With
``--jobs 2`` (one thread per run) on a 2-core machine a KD run takes ~5 min
(1.4 s/step), a plain student ~3 min, the teacher ~9 min on both cores.
``--quick``: 64 train / 32 val images of 160 px, teacher 8 epochs, pretraining
and students 6 epochs (48 iterations), seed 0, methods none, kd-t4, ctkd-global,
ctkd-instance, one thread per run; its own work dir (work_dirs/experiment_quick)
and output dir (docs/quick), so that it never overwrites the full table. Explicit
options override the quick values. Quick numbers are a smoke test of the
pipeline, not a result.

Threads: on a small machine shared with other jobs, torch's default (one thread
per core) can make every step several times slower than ``--threads 1``
(tools/benchmark.py measured 5-10 s vs 2.0 s per KD step on 2 busy cores).

Schedules are rescaled to ``--epochs`` (``set_epochs``: LR steps at 3/4 and
11/12, one validation at the end), the LinearLR warm-up (50 iterations) is cut to
a quarter of a run that is shorter than 150 iterations, and CTKD's curriculum keeps
its share of the schedule (λ ramps over the first third: per epoch when that is a
whole number of epochs, else per iteration). Checkpoints are saved without the
optimizer state (a run is never resumed half-way; an unfinished run is retrained).
"""
import argparse
import fcntl
import json
import math
import os
import os.path as osp
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Dict, List, Optional

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

SHAPES = osp.join(REPO, 'configs', 'shapes')
TEACHER_CONFIG = osp.join(SHAPES, 'faster-rcnn_r50_fpn_shapes.py')
STUDENT_CONFIG = osp.join(SHAPES, 'faster-rcnn_r18_fpn_shapes.py')
KD_CONFIG = osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py')
RLKD_CONFIG = osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py')

# method -> (config, fixed KD temperature or None)
METHODS = {
    'none': (STUDENT_CONFIG, None),
    'kd-t1': (KD_CONFIG, 1.0),
    'kd-t2': (KD_CONFIG, 2.0),
    'kd-t4': (KD_CONFIG, 4.0),
    'ctkd-global': (
        osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py'),
        None),
    'ctkd-instance': (
        osp.join(SHAPES,
                 'faster-rcnn_r50-to-r18_fpn_ctkd-instance_cpu_shapes.py'),
        None),
    'rlkd': (RLKD_CONFIG, None),
}
METRICS = ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75')
FULL = dict(epochs=12, teacher_epochs=20, pretrain_epochs=12, num_train=128,
            num_val=64, size=160,
            seeds=[0, 1, 2], work_dir='work_dirs/experiment', out='docs')
QUICK = dict(epochs=6, teacher_epochs=8, pretrain_epochs=6, num_train=64,
             num_val=32, size=160,
             seeds=[0], work_dir='work_dirs/experiment_quick', out='docs/quick',
             methods=['none', 'kd-t4', 'ctkd-global', 'ctkd-instance'],
             threads=1)
PRETRAIN_DATA_SEED = 2  # the table's data use seed 0; the KD ablation's dev split 1
DEFAULT_DATA = dict(num_train=128, num_val=64, size=160)  # -> data/shapes


def available_methods() -> List[str]:
    return [m for m, (cfg, _) in METHODS.items() if osp.isfile(cfg)]


# -- configs ---------------------------------------------------------------------


def _fit_warmup(cfg, total_iters: int) -> None:
    """A LinearLR warm-up longer than a third of the run is cut to a quarter
    of it (a short run would otherwise spend most of it warming up). At least 2
    iterations: mmengine's LinearLR updates the LR for steps ``begin .. end - 1``
    only, so ``end=1`` would hold the start factor for the whole run."""
    for sched in cfg.get('param_scheduler', []) or []:
        if sched.get('type') == 'LinearLR' and not sched.get('by_epoch', True) \
                and sched.get('end', 0) > total_iters / 3:
            sched['end'] = max(2, total_iters // 4)


def _scale_curriculum(cfg, base_epochs: int, epochs: int,
                      iters_per_epoch: int) -> None:
    """Keep each CurriculumTemperatureHook's ramp at the same share of the run."""
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


def make_config(path: str, args, epochs: int, seed: int,
                temperature: Optional[float] = None, teacher: dict = None,
                backbone: dict = None):
    """A shapes config adapted to this experiment's data, schedule and seed;
    ``backbone`` (``checkpoint``, ``digest``): initialise the student's backbone
    from a pretraining run, as detection students start from ImageNet weights."""
    from mmengine.config import Config

    from ctkd_det.apis import set_data_root, set_epochs, set_img_size
    cfg = Config.fromfile(path)
    base_epochs = cfg.train_cfg.max_epochs
    set_data_root(cfg, args.data_root)
    set_img_size(cfg, args.size)
    if args.batch_size:
        for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[name].batch_size = args.batch_size
    set_epochs(cfg, epochs)
    iters_per_epoch = math.ceil(args.num_train / cfg.train_dataloader.batch_size)
    _fit_warmup(cfg, epochs * iters_per_epoch)
    _scale_curriculum(cfg, base_epochs, epochs, iters_per_epoch)
    cfg.randomness = dict(cfg.get('randomness', {}) or {}, seed=seed)
    # weights only: runs are never resumed half-way (train_cached retrains an
    # unfinished run) and the teacher is loaded as weights; halves the files
    cfg.default_hooks.checkpoint.save_optimizer = False
    if 'teacher_config' in cfg.model:  # a distillation detector
        if teacher is None:
            raise ValueError(f'{path} distils: a teacher is needed')
        cfg.model.teacher_ckpt = teacher['checkpoint']
        if temperature is not None:
            cfg.model.temperature = dict(type='FixedTemperature',
                                         value=float(temperature))
        # the teacher's identity is part of the run's cache key (its config
        # digest; the checkpoint path alone would survive a retrained teacher)
        cfg.experiment = dict(teacher_digest=teacher['digest'])
    if backbone is not None:
        cfg.model.backbone.init_cfg = dict(
            type='Pretrained', checkpoint=backbone['checkpoint'],
            prefix='backbone.')
        cfg.experiment = dict(cfg.get('experiment', {}) or {},
                              backbone_digest=backbone['digest'])
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    return cfg


def pretrain_backbone(args, log=print) -> Optional[dict]:
    """Stage 0: the student detector trained alone on a *separate* generated set
    (generator seed 2: no image of the table's train/val splits), whose backbone
    initialises every student of the table. None with ``--pretrain-epochs 0``."""
    if not args.pretrain_epochs:
        return None
    from ctkd_det.apis import train_cached
    from ctkd_det.apis.runs import config_digest
    from ctkd_det.datasets import make_shapes
    root = args.data_root.rstrip('/') + '_pretrain'
    make_shapes(root, args.num_train, max(8, args.num_val // 4), args.size,
                seed=PRETRAIN_DATA_SEED)
    pre_args = argparse.Namespace(**dict(vars(args), data_root=root))
    cfg = make_config(STUDENT_CONFIG, pre_args, args.pretrain_epochs,
                      args.teacher_seed)
    rec = train_cached(cfg, osp.join(args.work_dir, 'pretrain'),
                       name='backbone pretraining', log=log)
    return dict(checkpoint=rec['checkpoint'], digest=config_digest(cfg),
                metrics=rec['metrics'], seconds=rec['seconds'],
                cached=rec['cached'], data_root=root,
                work_dir=osp.join(args.work_dir, 'pretrain'))


def is_cached(cfg, work_dir: str) -> bool:
    """What ``train_cached`` will find: a finished run with the same config."""
    from ctkd_det.apis.runs import config_digest
    done = osp.join(work_dir, 'done.json')
    if not osp.isfile(done):
        return False
    with open(done) as f:
        record = json.load(f)
    return record.get('digest') == config_digest(cfg) and \
        osp.isfile(record.get('checkpoint', ''))


# -- results ---------------------------------------------------------------------
def aggregate(runs: List[dict]) -> Dict[str, dict]:
    """Per method: n, and mean / std (sample, n - 1; 0 for one run) of the
    metrics and the wall time, over the finished runs."""
    out = {}
    for method in dict.fromkeys(r['method'] for r in runs):
        done = [r for r in runs if r['method'] == method and 'bbox_mAP' in r]
        if not done:
            continue
        entry = dict(n=len(done), seeds=[r['seed'] for r in done])
        for key in METRICS + ('seconds',):
            vals = [float(r[key]) for r in done]
            entry[key] = dict(
                mean=statistics.fmean(vals),
                std=statistics.stdev(vals) if len(vals) > 1 else 0.0)
        out[method] = entry
    return out


def _rel(path: str) -> str:
    """A path inside the repository, relative to it (for the docs)."""
    rel = osp.relpath(path, REPO)
    return path if rel.startswith('..') else rel


def _pm(stat: dict, scale: float = 100.0, digits: int = 1) -> str:
    return f'{stat["mean"] * scale:.{digits}f} ± {stat["std"] * scale:.{digits}f}'


def write_results(out_dir: str, result: dict) -> None:
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'results.json'), 'w') as f:
        json.dump(result, f, indent=1)
    s = result['settings']
    partial = '' if result['finished'] >= result['total'] else \
        f' (partial: {result["finished"]}/{result["total"]} runs)'
    lines = [
        '# Shapes: KD vs CTKD (R50-FPN teacher -> R18-FPN student)', '',
        f'Generated by `{result["command"]}`{partial}.', '',
        f'Data: generated shapes, {s["num_train"]} train / {s["num_val"]} val '
        f'images of {s["size"]} px ({_rel(s["data_root"])}). Teacher '
        f'{s["teacher_epochs"]} epochs, students {s["epochs"]} epochs, seeds '
        f'{" ".join(map(str, s["seeds"]))}. COCO bbox AP on the val set (x100); '
        'mean ± sample std over seeds; wall time = the training process '
        '(start-up and the final validation included), on '
        f'{s["host"]} (OMP threads per run: {s.get("threads", "default")}).',
        '',
    ]
    pre = result.get('pretrain')
    if pre:
        lines += [
            f'Student backbones start from a pretraining run: the R18-FPN '
            f'student alone, {s.get("pretrain_epochs")} epochs on a separate '
            f'generated set ({_rel(pre["data_root"])}, generator seed '
            f'{PRETRAIN_DATA_SEED}), backbone weights only '
            f'(`{_rel(pre["checkpoint"])}`); heads and neck from scratch.', '']
    lines += [
        '| method | runs | mAP | mAP50 | mAP75 | wall time (min) |',
        '|---|---|---|---|---|---|',
    ]
    t = result.get('teacher')
    if t and 'metrics' in t:
        m = t['metrics']
        lines.append(
            f'| teacher (R50-FPN) | 1 | {m["bbox_mAP"] * 100:.1f} | '
            f'{m["bbox_mAP_50"] * 100:.1f} | {m["bbox_mAP_75"] * 100:.1f} | '
            f'{t["seconds"] / 60:.1f} |')
    for method, a in result['methods'].items():
        lines.append(
            f'| {method} | {a["n"]} | {_pm(a["bbox_mAP"])} | '
            f'{_pm(a["bbox_mAP_50"])} | {_pm(a["bbox_mAP_75"])} | '
            f'{_pm(a["seconds"], 1 / 60)} |')
    lines += ['', '## Runs', '',
              '| method | seed | mAP | mAP50 | mAP75 | wall time (min) | '
              'work dir |', '|---|---|---|---|---|---|---|']
    for r in result['runs']:
        if 'bbox_mAP' in r:
            lines.append(
                f'| {r["method"]} | {r["seed"]} | {r["bbox_mAP"] * 100:.1f} | '
                f'{r["bbox_mAP_50"] * 100:.1f} | {r["bbox_mAP_75"] * 100:.1f} | '
                f'{r["seconds"] / 60:.1f} | `{_rel(r["work_dir"])}` |')
        else:
            error = r.get('error', 'not run').replace('|', '/')
            lines.append(f'| {r["method"]} | {r["seed"]} | FAILED: {error} '
                         '| | | | '
                         f'`{_rel(r["work_dir"])}` |')
    if result.get('curves'):
        lines += ['', f'Curves (seed {result["curves_seed"]}): temperature '
                  '(mean, 10-90 % band across RoIs), λ and loss_kd.', '',
                  f'![curves]({osp.basename(result["curves"])})']
    with open(osp.join(out_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _fmt_time(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    return f'{h}h{rem // 60:02d}m' if h else f'{rem // 60}m{rem % 60:02d}s'


# -- main ------------------------------------------------------------------------
@contextmanager
def _all_threads(args):
    """A run that trains alone gets the threads of all ``--jobs`` slots."""
    saved = {v: os.environ.get(v) for v in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS')}
    if args.threads and args.jobs > 1:
        os.environ.update({v: str(args.threads * args.jobs) for v in saved})
    try:
        yield
    finally:
        for v, value in saved.items():
            if value is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = value


def run(args, log=print) -> dict:
    import platform

    import ctkd_det  # noqa: F401
    from ctkd_det.apis import train_cached

    from ctkd_det.datasets import make_shapes
    info = make_shapes(args.data_root, args.num_train, args.num_val, args.size,
                       seed=0)
    state = 'generated' if info['generated'] else 'up to date'
    log(f'data: {args.data_root} ({state})')

    total = 1 + len(args.methods) * len(args.seeds)
    result = dict(
        command='python tools/experiment.py ' + ' '.join(args.argv),
        settings=dict(epochs=args.epochs, teacher_epochs=args.teacher_epochs,
                      pretrain_epochs=args.pretrain_epochs,
                      num_train=args.num_train, num_val=args.num_val,
                      size=args.size, seeds=args.seeds, methods=args.methods,
                      batch_size=args.batch_size or 8,
                      data_root=args.data_root, work_dir=args.work_dir,
                      teacher_seed=args.teacher_seed,
                      quick=args.quick, cfg_options=args.cfg_options_raw,
                      threads=os.environ.get('OMP_NUM_THREADS', 'default'),
                      jobs=args.jobs,
                      host=f'{platform.machine()}, {os.cpu_count()} CPUs'),
        teacher=None, runs=[], methods={}, total=total, finished=0)

    # 1. the teacher
    log(f'=== run 1/{total}: teacher ({args.teacher_epochs} epochs)')
    tcfg = make_config(TEACHER_CONFIG, args, args.teacher_epochs,
                       args.teacher_seed)
    with _all_threads(args):
        teacher = train_cached(tcfg, osp.join(args.work_dir, 'teacher'),
                               name='teacher', log=log)
    result['teacher'] = dict(
        metrics=teacher['metrics'], seconds=teacher['seconds'],
        cached=teacher['cached'], checkpoint=teacher['checkpoint'],
        work_dir=osp.join(args.work_dir, 'teacher'), seed=args.teacher_seed)
    result['finished'] = 1
    write_results(args.out, result)

    # 1b. the students' backbone (as detection students start from ImageNet
    # weights; from scratch, 12 epochs of the same config ranged 0.08-0.15 mAP
    # over two seeds on the dev split)
    if args.pretrain_epochs:
        log(f'=== backbone pretraining ({args.pretrain_epochs} epochs, '
            'separate generated set)')
    with _all_threads(args):
        backbone = pretrain_backbone(args, log=log)
    if backbone is not None:
        result['pretrain'] = {k: v for k, v in backbone.items()
                              if k != 'digest'}
        write_results(args.out, result)

    # 2. the students: configs first, so that cached runs are known for the ETA
    plan = []
    for seed in args.seeds:  # seed-major: a partial table has every method
        for method in args.methods:
            path, temp = METHODS[method]
            cfg = make_config(path, args, args.epochs, seed, temp, teacher,
                              backbone)
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
            eta = (f'ETA {_fmt_time(statistics.fmean(ref) * pending / per_slot)}'
                   f' for {pending} run(s) to train' if ref and pending else
                   'ETA after the first run' if pending else 'cached')
            log(f'=== run {k}/{total}: {p["method"]}/seed{p["seed"]} ({eta})')

    def train_one(k: int, p: dict) -> None:
        announce(k, p)
        name = f'{p["method"]}/seed{p["seed"]}'
        entry = dict(method=p['method'], seed=p['seed'],
                     work_dir=p['work_dir'])
        try:
            rec = train_cached(p['cfg'], p['work_dir'], name=name, log=log)
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
            result['finished'] = 1 + len(result['runs'])
            write_results(args.out, result)

    # cached runs first (instant), then up to --jobs trainings at a time
    order = sorted(enumerate(plan, start=2), key=lambda kp: not kp[1]['cached'])
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for future in [pool.submit(train_one, k, p) for k, p in order]:
            future.result()

    # 3. the curves of the first seed's distillation runs
    seed = args.seeds[0]
    curve_runs = {r['method']: r['work_dir'] for r in result['runs']
                  if r['seed'] == seed and r['method'] != 'none'
                  and 'error' not in r}
    if curve_runs:
        sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
        from plot_curves import plot_curves
        png = osp.join(args.out, f'curves_seed{seed}.png')
        try:
            summary = plot_curves(curve_runs, png,
                                  title=f'shapes, seed {seed}')
        except (FileNotFoundError, ValueError) as e:
            log(f'curves: not drawn: {e}')
        else:
            result.update(curves=png, curves_seed=seed,
                          curves_summary=summary['runs'])
            log(f'curves: {png}')
    write_results(args.out, result)
    result['failed'] = failed
    return result


class _CfgOptions(argparse.Action):
    """--cfg-options key=value ...: mmengine's DictAction, the raw strings kept."""

    def __call__(self, parser, namespace, values, option_string=None):
        from mmengine.config import DictAction
        DictAction(self.option_strings, self.dest)(parser, namespace, values)
        namespace.cfg_options_raw = list(values)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='\n\n'.join(__doc__.split('\n\n')[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quick', action='store_true',
                   help='small setting, < 15 min on 2 cores (see above)')
    p.add_argument('--methods', nargs='+', metavar='METHOD',
                   help=f'subset of {", ".join(METHODS)} (default: all whose '
                   'config exists)')
    p.add_argument('--seeds', nargs='+', type=int, help='default 0 1 2')
    p.add_argument('--epochs', type=int, help='student epochs (default 12)')
    p.add_argument('--teacher-epochs', type=int, help='default 20')
    p.add_argument('--pretrain-epochs', type=int,
                   help='epochs of the student backbone\'s pretraining on a '
                   'separate generated set (default 12; 0: students from scratch)')
    p.add_argument('--teacher-seed', type=int, default=0)
    p.add_argument('--num-train', type=int, help='default 128')
    p.add_argument('--num-val', type=int, help='default 64')
    p.add_argument('--size', type=int, help='image side in px (default 160)')
    p.add_argument('--data-root',
                   help='default data/shapes for 128/64/160, else '
                   'data/shapes_<train>x<val>_<size>px')
    p.add_argument('--threads', type=int,
                   help='CPU threads per training process (OMP_NUM_THREADS / '
                   'MKL_NUM_THREADS); default: inherited. On a small machine '
                   'shared with other jobs, 1 can be several times faster')
    p.add_argument('--jobs', type=int, default=1,
                   help='student runs trained at the same time (default 1); '
                   'with more than 1, --threads defaults to 1: on 2 cores, '
                   '--jobs 2 finishes the table ~15%% sooner than one run at '
                   'a time on 2 threads')
    p.add_argument('--work-dir', help='default work_dirs/experiment')
    p.add_argument('--out', help='results directory (default docs/)')
    # for tests and experiments with the setting itself
    p.add_argument('--batch-size', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--cfg-options', nargs='+', action=_CfgOptions,
                   help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    args.argv = argv
    if not hasattr(args, 'cfg_options_raw'):
        args.cfg_options, args.cfg_options_raw = None, None
    base = dict(FULL, methods=available_methods(), threads=0)
    if args.quick:
        base.update(QUICK, methods=[m for m in QUICK['methods']
                                    if m in available_methods()])
    for key, value in base.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.jobs < 1:
        p.error('--jobs must be >= 1')
    if args.jobs > 1 and not args.threads:
        args.threads = 1
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        p.error(f'unknown methods {unknown}; choose from {list(METHODS)}')
    missing = [m for m in args.methods if not osp.isfile(METHODS[m][0])]
    if missing:
        p.error(f'no config for {missing}: {[METHODS[m][0] for m in missing]}')
    args.methods = list(dict.fromkeys(args.methods))
    args.seeds = list(dict.fromkeys(args.seeds))
    if args.pretrain_epochs < 0:
        p.error('--pretrain-epochs must be >= 0')
    if min(args.epochs, args.teacher_epochs, args.num_train, args.num_val,
           args.size) < 1:
        p.error('epochs, sizes and counts must be >= 1')
    if args.data_root is None:
        data = (args.num_train, args.num_val, args.size)
        args.data_root = 'data/shapes' if data == tuple(DEFAULT_DATA.values()) \
            else f'data/shapes_{args.num_train}x{args.num_val}_{args.size}px'
    for key in ('data_root', 'work_dir', 'out'):
        path = getattr(args, key)
        setattr(args, key, path if osp.isabs(path) else osp.join(REPO, path))
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    # one experiment per work dir at a time (runs would overwrite each other)
    lock = open(osp.join(args.work_dir, '.experiment.lock'), 'w')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise SystemExit(f'another tools/experiment.py is running in '
                         f'{args.work_dir}')
    if args.threads:
        for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            os.environ[var] = str(args.threads)
    start = time.time()
    result = run(args, log=lambda m: print(m, flush=True))
    print(f'wrote {osp.join(args.out, "results.md")} and results.json in '
          f'{_fmt_time(time.time() - start)}')
    if result['failed']:
        raise SystemExit(f'{len(result["failed"])} run(s) failed: '
                         f'{", ".join(result["failed"])}')


if __name__ == '__main__':
    main()
