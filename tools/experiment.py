"""A benchmark's results table: no KD vs KD vs learned temperatures (CTKD,
RLKD), R50-FPN teacher -> R18-FPN student (ctkd_det.experiments.table; every
cell is a config file under configs/<benchmark>/table/).

Trains the R50-FPN teacher and the backbone pretraining (the R18-FPN student alone
on a *separate* generated set: detection students start from ImageNet backbones,
and from scratch two seeds of the same 12-epoch student scored 0.08 and 0.15 mAP
on the shapes dev split), then the R18-FPN student under every method over
several seeds, ``--jobs`` runs at a time (cached: a run whose config, seed and
input checkpoints are unchanged and that finished is not trained again, so an
interrupted table resumes), and writes ``results.json`` and ``results.md`` into
``--out`` (after every run; mean ± std per method, paired differences per seed
to the plain student and of each learned temperature to its fixed-T twin) plus
``curves_seed<S>.png``: temperature, λ and loss_kd of the first seed's
distillation runs.

    python tools/experiment.py --jobs 2        # full shapes table, ~1 h on 2 cores
    python tools/experiment.py --quick         # < 15 min on 2 cores
    python tools/experiment.py --methods none ctkd-global --seeds 0 1 2 --epochs 6
    python tools/experiment.py --benchmark glyphs --jobs 2    # the glyphs table
    python tools/experiment.py --benchmark glyphs --eval-split dev --quick

``--benchmark shapes`` (default), methods: none (student alone), kd-t1 / kd-t2
/ kd-t4 (vanilla KD, fixed T), ctkd-global, ctkd-instance, rlkd, dkd (DKD at
T = 1), kd-fgbg (fg/bg-weighted KD at T = 1): configs/shapes/table/<method>.py;
twins (a learned T vs the fixed T it replaces): ctkd-global, ctkd-instance and
rlkd vs kd-t4. Full setting (defaults, the config files' own): 128 train / 64
val images of 160 px, teacher 20 epochs, backbone pretraining 12 epochs (128
images, generator seed 2), students 12 epochs (192 iterations at batch 8), seeds
0 1 2, all methods: 2 + 3 x 9 runs, in work_dirs/experiment, results in docs/.
With ``--jobs 2`` (one thread per run) on a 2-core machine a KD run takes ~5 min
(1.4 s/step), a plain student ~3 min, the teacher ~9 min on both cores.
``--quick``: 64 train / 32 val images of 160 px, teacher 8 epochs, pretraining
and students 6 epochs (48 iterations), seed 0, methods none, kd-t4, ctkd-global,
ctkd-instance, one thread per run; its own work dir (work_dirs/experiment_quick)
and output dir (docs/quick), so that it never overwrites the full table.

``--benchmark glyphs``, default methods: none, kd-t1, kd-t4, kd-fgbg, dkd,
ctkd-global, ctkd-instance, ctkd-global-dkd, ctkd-instance-dkd,
ctkd-global-fgbg, rlkd-fgbg; with ``--methods`` only: rlkd-dkd, kd-fgbg-t21
(configs/glyphs/table/<method>.py); twins: ctkd-global and ctkd-instance vs
kd-t1, ctkd-global-dkd, ctkd-instance-dkd and rlkd-dkd vs dkd,
ctkd-global-fgbg and rlkd-fgbg vs kd-fgbg. Full setting: 256 train / 64 dev /
128 val images of 192 px (data/glyphs), teacher 24 epochs (~52 min on 2
threads), backbone pretraining 12 epochs (data/glyphs_pretrain, generator
seed 2), students 6 epochs (192 iterations at batch 8,
configs/glyphs/table/_base_/table_schedule.py), seeds 0 1 2: 2 + 3 x 11 runs,
in work_dirs/glyphs_table, results in docs/glyphs/. ``--quick``: 64 train /
16 dev / 32 val images, teacher 6 epochs, pretraining and students 4 epochs,
seed 0, methods none, kd-t1, dkd, ctkd-global-dkd, one thread per run
(work_dirs/glyphs_table_quick, docs/glyphs/quick).

``--eval-split dev`` (glyphs; shapes has no dev split) evaluates every run on
the dev split instead of val, in work and output dirs of its own (default: the
val ones + ``_dev`` and ``/dev``, e.g. work_dirs/glyphs_table_dev and
docs/glyphs/dev), so that tuning never looks at the val numbers.

Explicit options override the benchmark's (and ``--quick``'s) values. Quick
numbers are a smoke test of the pipeline, not a result.

Threads: on a small machine shared with other jobs, torch's default (one thread
per core) can make every step several times slower than ``--threads 1``
(tools/benchmark.py measured 5-10 s vs 2.0 s per KD step on 2 busy cores).

Other epochs rescale the files' schedules (LR steps at 3/4 and 11/12, one
validation at the end), the LinearLR warm-up (50 iterations) is cut to a quarter
of a run that is shorter than 150 iterations, and CTKD's curriculum keeps its
share of the schedule (λ ramps over the first third: per epoch when that is a
whole number of epochs, else per iteration). Checkpoints are saved without the
optimizer state (a run is never resumed half-way; an unfinished run is retrained).
"""
import argparse
import os.path as osp
import sys
import time

from ctkd_det.experiments import table
from ctkd_det.experiments.plans import BENCHMARKS
from ctkd_det.experiments.results import fmt_time


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
    p.add_argument('--benchmark', choices=list(BENCHMARKS), default='shapes',
                   help='the generated benchmark whose table to train '
                   '(default shapes)')
    p.add_argument('--eval-split', choices=('val', 'dev'), default='val',
                   help='the split every run is evaluated on (default val; dev: '
                   'glyphs only, for tuning; own default work/out dirs)')
    p.add_argument('--quick', action='store_true',
                   help='small setting, < 15 min on 2 cores (see above)')
    p.add_argument('--methods', nargs='+', metavar='METHOD',
                   help='the table\'s rows (default: the benchmark\'s '
                   'default methods whose config exists): ' + '; '.join(
                       f'{b.name}: {", ".join(b.all_methods)}'
                       for b in BENCHMARKS.values()))
    p.add_argument('--seeds', nargs='+', type=int, help='default 0 1 2')
    p.add_argument('--epochs', type=int,
                   help='student epochs (default 12 shapes, 6 glyphs)')
    p.add_argument('--teacher-epochs', type=int,
                   help='default 20 (shapes), 24 (glyphs)')
    p.add_argument('--pretrain-epochs', type=int,
                   help='epochs of the student backbone\'s pretraining on a '
                   'separate generated set (default 12; 0: students from scratch)')
    p.add_argument('--teacher-seed', type=int, default=0)
    p.add_argument('--num-train', type=int,
                   help='default 128 (shapes), 256 (glyphs)')
    p.add_argument('--num-dev', type=int,
                   help='glyphs only, default 64')
    p.add_argument('--num-val', type=int,
                   help='default 64 (shapes), 128 (glyphs)')
    p.add_argument('--size', type=int,
                   help='image side in px (default 160 shapes, 192 glyphs)')
    p.add_argument('--data-root',
                   help='default data/<benchmark> for the default sizes, else '
                   'data/<benchmark>_<counts per split>_<size>px')
    p.add_argument('--threads', type=int,
                   help='CPU threads per training process (OMP_NUM_THREADS / '
                   'MKL_NUM_THREADS); default: inherited. On a small machine '
                   'shared with other jobs, 1 can be several times faster')
    p.add_argument('--jobs', type=int, default=1,
                   help='student runs trained at the same time (default 1); '
                   'with more than 1, --threads defaults to 1: on 2 cores, '
                   '--jobs 2 finishes the table ~15%% sooner than one run at '
                   'a time on 2 threads')
    p.add_argument('--work-dir', help='default work_dirs/experiment (shapes), '
                   'work_dirs/glyphs_table (glyphs)')
    p.add_argument('--out', help='results directory (default docs/ for shapes, '
                   'docs/glyphs/ for glyphs)')
    # for tests and experiments with the setting itself
    p.add_argument('--batch-size', type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument('--cfg-options', nargs='+', action=_CfgOptions,
                   help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(argv)
    args.argv = argv
    if not hasattr(args, 'cfg_options_raw'):
        args.cfg_options, args.cfg_options_raw = None, None
    try:
        return table.resolve(args)
    except ValueError as e:
        p.error(str(e))


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    with table.exclusive(args.work_dir):
        result = table.run(args, log=lambda m: print(m, flush=True))
    print(f'wrote {osp.join(args.out, "results.md")} and results.json in '
          f'{fmt_time(time.time() - start)}')
    if result['failed']:
        raise SystemExit(f'{len(result["failed"])} run(s) failed: '
                         f'{", ".join(result["failed"])}')


if __name__ == '__main__':
    main()
