r"""Training-step cost of distillation: student alone vs KD vs CTKD (vs RLKD).

    python tools/benchmark.py --steps 20 --warmup 3 --out results.json
    python tools/benchmark.py --device cuda --steps 50
    python tools/benchmark.py --threads 1 --aa   # + an A/A control (kd twice)
    python tools/benchmark.py --configs \
        student=configs/shapes/faster-rcnn_r18_fpn_shapes.py \
        kd=configs/shapes/faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py
    python tools/benchmark.py --breakdown     # where the time of a KD step goes
    python tools/benchmark.py --threads 1 --size 192 --data-root data/glyphs \
        --configs kd=configs/glyphs/table/kd-fgbg.py:model.teacher_cache_mb=0 \
        kd-cached=configs/glyphs/table/kd-fgbg.py student=configs/glyphs/table/none.py

The library (what is measured, and how) is ctkd_det.experiments.benchmark.
"""
import argparse
import json
import os
import os.path as osp

from ctkd_det.experiments import benchmark
from ctkd_det.experiments.benchmark import BenchmarkSettings


def parse_args(argv=None):
    d = BenchmarkSettings()
    p = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        epilog='\n\n'.join(__doc__.split('\n\n')[1:-1] +
                           benchmark.__doc__.split('\n\n')[1:-1]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--configs', nargs='+', metavar='NAME=CONFIG',
                   help='variants to time (default: student, kd, ctkd-global, '
                   'ctkd-instance, and rlkd when '
                   'configs/shapes/faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py '
                   'exists); ratios need variants named kd / student')
    p.add_argument('--steps', type=int, default=d.steps,
                   help='timed rounds (one step of every variant each)')
    p.add_argument('--warmup', type=int, default=d.warmup,
                   help='untimed rounds first')
    p.add_argument('--device', default=d.device, help='cpu, cuda or cuda:N')
    p.add_argument('--batch-size', type=int, default=d.batch_size)
    p.add_argument('--size', type=int, default=d.size, help='image side (px)')
    p.add_argument('--data-root',
                   help='take the batch from this generated set (e.g. '
                   'data/glyphs for glyphs configs) instead of a fresh shapes '
                   'set')
    p.add_argument('--threads', type=int, default=d.threads,
                   help="torch threads (default: torch's choice)")
    p.add_argument('--out', help='write the results as JSON here')
    p.add_argument('--no-memory', action='store_true',
                   help='CPU: skip the per-variant child processes for peak RSS')
    p.add_argument('--memory-steps', type=int, default=d.memory_steps,
                   help='steps per child process for the CPU memory peak')
    p.add_argument('--breakdown', action='store_true',
                   help='also time the parts of a step (teacher, temperature, '
                   'KD loss, quantiles, backward+optimizer)')
    p.add_argument('--aa', action='store_true',
                   help='A/A control: also time a second, identical instance of '
                   'the kd variant (kd-copy); its ratio to kd is the noise floor '
                   'of the comparison (machine noise plus per-instance effects '
                   'such as memory layout)')
    args = p.parse_args(argv)
    if args.steps < 1 or args.warmup < 0:
        p.error('--steps must be >= 1 and --warmup >= 0')
    return args


def main(argv=None):
    args = parse_args(argv)
    settings = BenchmarkSettings(
        steps=args.steps, warmup=args.warmup, device=args.device,
        batch_size=args.batch_size, size=args.size, threads=args.threads,
        memory=not args.no_memory, memory_steps=args.memory_steps,
        breakdown=args.breakdown, aa=args.aa, data_root=args.data_root)
    configs = benchmark.parse_config_arg(args.configs) if args.configs \
        else None
    benchmark.quiet_logs()
    result = benchmark.run(configs, settings,
                           log=lambda m: print(m, flush=True))
    print(benchmark.format_table(result))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
