"""`make demo`: generated shapes data → teacher → student without distillation,
with vanilla KD and with CTKD (global T) → a bbox mAP table, on CPU.

Each run is a `tools/train.py` subprocess whose log lies in its work dir; finished
runs are cached (same config → not trained again), so an interrupted demo resumes.
"""
import argparse
import os.path as osp
import sys
import time

from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from ctkd_det.apis import set_data_root, set_epochs, train_cached  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHAPES = osp.join(REPO, 'configs', 'shapes')
RUNS = [  # (name, config, distilled)
    ('student', 'faster-rcnn_r18_fpn_shapes.py', False),
    ('kd (T=4)', 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py', True),
    ('ctkd (global T)', 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py',
     True),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=osp.join(REPO, 'data', 'shapes_demo'))
    p.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs', 'demo'))
    p.add_argument('--num-train', type=int, default=128)
    p.add_argument('--num-val', type=int, default=64)
    p.add_argument('--size', type=int, default=160)
    p.add_argument('--epochs', type=int, default=12, help='student epochs')
    p.add_argument('--teacher-epochs', type=int, default=20)
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def log(msg):
    print(f'[demo {time.strftime("%H:%M:%S")}] {msg}', flush=True)


def main():
    args = parse_args()
    from ctkd_det.datasets import make_shapes
    log(f'data: {args.num_train} train / {args.num_val} val images of '
        f'{args.size} px in {args.data}')
    make_shapes(args.data, num_train=args.num_train, num_val=args.num_val,
                size=args.size, seed=args.seed)

    def load(name, epochs):
        cfg = Config.fromfile(osp.join(SHAPES, name))
        set_data_root(cfg, args.data)
        set_epochs(cfg, epochs)
        cfg.randomness = dict(seed=args.seed)
        return cfg

    start = time.time()
    results = [('teacher (R50-FPN)', train_cached(
        load('faster-rcnn_r50_fpn_shapes.py', args.teacher_epochs),
        osp.join(args.work_dir, 'teacher'), 'teacher', log))]
    teacher_ckpt = results[0][1]['checkpoint']
    for name, cfg_name, distilled in RUNS:
        cfg = load(cfg_name, args.epochs)
        if distilled:
            cfg.model.teacher_ckpt = teacher_ckpt
        slug = cfg_name.replace('.py', '')
        results.append((name, train_cached(
            cfg, osp.join(args.work_dir, slug), name, log)))

    print()
    print(f'bbox mAP on {args.num_val} generated val images '
          f'(student R18-FPN, {args.epochs} epochs; teacher {args.teacher_epochs}'
          ' epochs)')
    print(f'| {"run":<20} | {"mAP":>6} | {"mAP50":>6} | {"mAP75":>6} | '
          f'{"min":>5} |')
    print(f'|{"-" * 22}|{"-" * 8}|{"-" * 8}|{"-" * 8}|{"-" * 7}|')
    for name, r in results:
        m = r['metrics']
        print(f'| {name:<20} | {m["bbox_mAP"]:6.3f} | {m["bbox_mAP_50"]:6.3f} | '
              f'{m["bbox_mAP_75"]:6.3f} | {r["seconds"] / 60:5.1f} |')
    log(f'total {(time.time() - start) / 60:.1f} min; logs and checkpoints in '
        f'{args.work_dir}')


if __name__ == '__main__':
    main()
