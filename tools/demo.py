"""`make demo`: generated shapes data → teacher → student without distillation,
with vanilla KD and with CTKD (global T) → a bbox mAP table, on CPU
(ctkd_det.experiments.demo).

Each run is a training subprocess whose log lies in its work dir; finished runs
are cached (same config → not trained again), so an interrupted demo resumes.
"""
import argparse
import os.path as osp
import time

from ctkd_det.experiments import demo
from ctkd_det.experiments.runs import REPO


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=osp.join(REPO, 'data', 'shapes_demo'))
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--num-train', type=int, default=128)
    p.add_argument('--num-val', type=int, default=64)
    p.add_argument('--size', type=int, default=160)
    p.add_argument('--epochs', type=int, default=12, help='student epochs')
    p.add_argument('--teacher-epochs', type=int, default=20)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def log(msg):
    print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    results = demo.run(args, log)
    print()
    print(demo.format_table(results, args))
    log(f'total {(time.time() - start) / 60:.1f} min; logs and checkpoints in '
        f'{args.work_dir}')


if __name__ == '__main__':
    main()
