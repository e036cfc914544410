"""Why does KD hurt the shapes student? KD-weight ablation on a *dev* split.

The results table (tools/experiment.py) reports on the shapes val split; tuning
anything on it would bias that table. This tool evaluates on a separate dev split
(the same generator, seed 1: images the table never sees), with the same training
images and the table's cached teacher, and varies one thing at a time:

* ``none``: the student alone (the reference);
* ``kd-t1`` / ``kd-t4``: vanilla KD, T = 1 / 4, KD weight 1 (the table's
  setting; at T = 1 the term is ~10x smaller than at T = 4);
* ``kd-t4-w0.25`` / ``kd-t4-w0.0625``: the same with the KD term down-weighted
  (1/16 = 1/T² turns the T²-scaled term back into a plain KL at T = 4);
* ``ctkd-global`` / ``ctkd-global-tmax4``: CTKD global as in the table, and with
  its temperature bounded to [1, 4] instead of [1, 21] (θ₀ = 1 then starts it
  at T = 3.2 instead of 15.6);
* ``ctkd-global-w0.0625``: CTKD global with the KD weight 1/16;
* ``kd-t4-w0``: the KD detector with the KD weight 0: the teacher runs, its
  term is multiplied by 0; a control that must train like ``none``;
* ``kd-t4-head``: KD at T = 4 whose gradient stays in the RoI bbox head
  (``HeadKDTwoStageDetector``: KD logits from RoI features detached from the
  trunk): does the KD term hurt box regression through the trunk?
* ``none-sepfc`` / ``kd-t4-sepfc``: the student alone and KD at T = 4 with a
  RoI box head whose classification and regression branches share no layer
  (2 FCs each, ``ConvFCBBoxHead``) instead of mmdet's 2 shared FCs: does the KD
  term hurt box regression through the shared FCs? (``tools/box_quality.py``
  measures the regression on the runs.)
* ``kd-t4-sepfc-head``: both: the KD gradient reaches only the classification
  branch's FCs and classifier, no parameter that box regression uses.

Hypothesis under test: the T²-scaled KD term (≈ 17–29 at the start, ≈ 3 after 12
epochs, against ≈ 0.3 for the student's own classification loss) dominates the
gradient of the shared trunk, so RPN and box regression learn more slowly in a
192-iteration schedule. If down-weighting recovers the student's mAP, the KD weight
is the knob; if not, it is something else.

    python tools/kd_ablation.py --jobs 2          # after tools/experiment.py's teacher
    python tools/kd_ablation.py --jobs 2 --pretrain-epochs 12 --seeds 0 1

Writes ``docs/ablation_<scratch|pretrained>.{json,md}``; every run is cached
like the table's. ``--pretrain-epochs N`` starts the students' backbones from
tools/experiment.py's pretraining run (trained here if it is not there yet).
"""
import argparse
import functools
import hashlib
import json
import os
import os.path as osp
import statistics
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
import experiment as xp  # noqa: E402  (tools/experiment.py)

CTKD_GLOBAL = xp.METHODS['ctkd-global'][0]
FIXED_T4 = dict(type='FixedTemperature', value=4.0)
# box head with separate classification / regression branches (no shared FC)
SEPARATE_FC = dict(roi_head=dict(bbox_head=dict(
    type='ConvFCBBoxHead', num_shared_convs=0, num_shared_fcs=0,
    num_cls_convs=0, num_cls_fcs=2, num_reg_convs=0, num_reg_fcs=2)))
# name -> (config, model overrides)
VARIANTS = {
    'none': (xp.STUDENT_CONFIG, {}),
    'kd-t1': (xp.KD_CONFIG, dict(temperature=dict(FIXED_T4, value=1.0))),
    'kd-t4': (xp.KD_CONFIG, dict(temperature=FIXED_T4)),
    'kd-t4-w0': (xp.KD_CONFIG, dict(temperature=FIXED_T4,
                                    distill_loss=dict(loss_weight=0.0))),
    'kd-t4-w0.25': (xp.KD_CONFIG, dict(temperature=FIXED_T4,
                                       distill_loss=dict(loss_weight=0.25))),
    'kd-t4-w0.0625': (xp.KD_CONFIG, dict(temperature=FIXED_T4,
                                         distill_loss=dict(loss_weight=0.0625))),
    'ctkd-global': (CTKD_GLOBAL, {}),
    'ctkd-global-tmax4': (CTKD_GLOBAL, dict(temperature=dict(t_max=4.0))),
    'ctkd-global-w0.0625': (CTKD_GLOBAL,
                            dict(distill_loss=dict(loss_weight=0.0625))),
    'kd-t4-head': (xp.KD_CONFIG, dict(type='HeadKDTwoStageDetector',
                                      temperature=FIXED_T4)),
    'kd-t4-sepfc-head': (xp.KD_CONFIG, dict(type='HeadKDTwoStageDetector',
                                            temperature=FIXED_T4,
                                            **SEPARATE_FC)),
    'none-sepfc': (xp.STUDENT_CONFIG, SEPARATE_FC),
    'kd-t4-sepfc': (xp.KD_CONFIG, dict(temperature=FIXED_T4, **SEPARATE_FC)),
}


@functools.lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
    """Hash of a checkpoint file; read once per process, not once per run."""
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()[:12]


def make_config(name: str, seed: int, args, backbone: dict = None):
    """The table's config for this variant, evaluated on the dev split."""
    from ctkd_det.apis import set_data_root
    path, model = VARIANTS[name]
    teacher = dict(checkpoint=args.teacher_ckpt,
                   digest=_file_digest(args.teacher_ckpt))
    cfg = xp.make_config(path, args, args.epochs, seed, None, teacher,
                         backbone)
    cfg.merge_from_dict({f'model.{k}': v for k, v in model.items()})
    # train on the table's training images, evaluate on the dev split
    train_root = cfg.train_dataloader.dataset.data_root
    set_data_root(cfg, args.dev_root)
    cfg.train_dataloader.dataset.data_root = train_root
    return cfg


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--teacher-ckpt',
                   default='work_dirs/experiment/teacher/epoch_20.pth')
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=list(VARIANTS))
    p.add_argument('--seeds', nargs='+', type=int, default=[0])
    p.add_argument('--runs', nargs='+', metavar='VARIANT/SEED',
                   help='exactly these runs (e.g. none/0 none/1 kd-t4/0) '
                   'instead of every variant x seed')
    p.add_argument('--epochs', type=int, default=12)
    p.add_argument('--data-root', default='data/shapes')
    p.add_argument('--dev-root', default='data/shapes_dev')
    p.add_argument('--jobs', type=int, default=1)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--pretrain-epochs', type=int, default=0,
                   help='students\' backbone from tools/experiment.py\'s '
                   'pretraining run of this many epochs (0: from scratch)')
    p.add_argument('--experiment-work-dir', default='work_dirs/experiment',
                   help='where tools/experiment.py keeps (or will find) the '
                   'pretraining run')
    p.add_argument('--work-dir', help='default work_dirs/ablation_<init>')
    p.add_argument('--out', default='docs')
    args = p.parse_args(argv)
    init = 'pretrained' if args.pretrain_epochs else 'scratch'
    args.work_dir = args.work_dir or f'work_dirs/ablation_{init}'
    for key in ('teacher_ckpt', 'data_root', 'dev_root', 'work_dir', 'out',
                'experiment_work_dir'):
        path = getattr(args, key)
        setattr(args, key, path if osp.isabs(path) else osp.join(REPO, path))
    if not osp.isfile(args.teacher_ckpt):
        raise SystemExit(f'teacher checkpoint {args.teacher_ckpt} not found: '
                         'run tools/experiment.py first (it trains it)')
    if args.runs:
        plan = []
        for item in args.runs:
            v, _, seed = item.partition('/')
            if v not in VARIANTS or not seed.isdigit():
                p.error(f'--runs: {item!r} is not VARIANT/SEED with VARIANT in '
                        f'{list(VARIANTS)}')
            plan.append((v, int(seed)))
        args.variants = list(dict.fromkeys(v for v, _ in plan))
        args.seeds = sorted({s for _, s in plan})
    else:
        plan = [(v, s) for s in args.seeds for v in args.variants]
    args.size, args.batch_size, args.num_train, args.num_val = 160, 0, 128, 64
    args.cfg_options = None
    for var in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
        os.environ[var] = str(args.threads)

    import ctkd_det  # noqa: F401
    from ctkd_det.apis import train_cached
    from ctkd_det.datasets import make_shapes
    make_shapes(args.data_root, 128, 64, 160, seed=0)
    make_shapes(args.dev_root, 8, 64, 160, seed=1)  # only its val split is used

    backbone = None
    if args.pretrain_epochs:
        pre_args = argparse.Namespace(**dict(vars(args),
                                             work_dir=args.experiment_work_dir,
                                             teacher_seed=0))
        backbone = xp.pretrain_backbone(pre_args,
                                        log=lambda m: print(m, flush=True))

    runs, lock = {}, threading.Lock()

    # configs in this thread: mmengine's Config.fromfile is not thread-safe
    cfgs = {(v, s): make_config(v, s, args, backbone) for v, s in plan}

    def one(k, v, s):
        name = f'{v}/seed{s}'
        print(f'=== ablation run {k}/{len(plan)}: {name}', flush=True)
        rec = train_cached(cfgs[(v, s)],
                           osp.join(args.work_dir, v, f'seed{s}'), name=name,
                           log=lambda m: print(m, flush=True))
        with lock:
            runs[(v, s)] = dict(variant=v, seed=s, seconds=rec['seconds'],
                                **{m: rec['metrics'][m] for m in xp.METRICS})

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for f in [pool.submit(one, k, v, s)
                  for k, (v, s) in enumerate(plan, start=1)]:
            f.result()

    rows = [runs[k] for k in plan]
    summary = {v: dict({m: statistics.fmean(r[m] for r in rows
                                            if r['variant'] == v)
                        for m in xp.METRICS},
                       seeds=[r['seed'] for r in rows if r['variant'] == v])
               for v in args.variants}
    result = dict(command='python tools/kd_ablation.py ' + ' '.join(
        argv if argv is not None else sys.argv[1:]),
        split='dev (generator seed 1, 64 images); training: the table\'s 128',
        init=init, pretrain_epochs=args.pretrain_epochs,
        teacher_ckpt=osp.relpath(args.teacher_ckpt, REPO),
        epochs=args.epochs, seeds=args.seeds, runs=rows, mean=summary)
    os.makedirs(args.out, exist_ok=True)
    with open(osp.join(args.out, f'ablation_{init}.json'), 'w') as f:
        json.dump(result, f, indent=1)
    lines = [f'# KD ablation on the dev split (student backbone: {init})', '',
             f'`{result["command"]}`; {result["split"]}.',
             '', '| run | bbox mAP | mAP50 | mAP75 |', '|---|---|---|---|']
    lines += [f'| {r["variant"]} / seed {r["seed"]} | {r["bbox_mAP"]:.3f} | '
              f'{r["bbox_mAP_50"]:.3f} | {r["bbox_mAP_75"]:.3f} |' for r in rows]
    with open(osp.join(args.out, f'ablation_{init}.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
