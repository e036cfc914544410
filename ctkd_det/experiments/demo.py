"""`make demo`: generated shapes data -> teacher -> student without distillation,
with vanilla KD and with CTKD (global T) -> a bbox mAP table, on CPU.

The shapes configs as they are, on the demo's data and epochs; each run is a
cached run (``runs.train_cached``: its log lies in its work dir, an interrupted
demo resumes).
"""
import os.path as osp
from typing import List, Optional, Tuple

from mmengine.config import Config

from ctkd_det.apis.settings import set_data_root, set_epochs
from ctkd_det.datasets import make_shapes
from .plans import SHAPES
from .runs import CONFIG_LOCK, train_cached

TEACHER = ('teacher (R50-FPN)', 'faster-rcnn_r50_fpn_shapes.py')
RUNS = [  # (name, config, distilled)
    ('student', 'faster-rcnn_r18_fpn_shapes.py', False),
    ('kd (T=4)', 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py', True),
    ('ctkd (global T)', 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py',
     True),
]


def demo_config(name: str, data: str, epochs: int, seed: int,
                teacher_ckpt: Optional[str] = None) -> Config:
    """The shapes config ``name`` on ``data`` for ``epochs`` (``set_epochs``)
    with ``seed``, distilling from ``teacher_ckpt`` if given."""
    with CONFIG_LOCK:
        cfg = Config.fromfile(osp.join(SHAPES, name))
    set_data_root(cfg, data)
    set_epochs(cfg, epochs)
    cfg.randomness = dict(seed=seed)
    if teacher_ckpt is not None:
        cfg.model.teacher_ckpt = teacher_ckpt
    return cfg


def run(args, log=print) -> List[Tuple[str, dict]]:
    """Generate the data and train the teacher, then the three students;
    ``args``: ``data``, ``work_dir``, ``num_train``, ``num_val``, ``size``,
    ``epochs``, ``teacher_epochs``, ``seed``. Returns ``[(name, record)]``."""
    log(f'data: {args.num_train} train / {args.num_val} val images of '
        f'{args.size} px in {args.data}')
    make_shapes(args.data, num_train=args.num_train, num_val=args.num_val,
                size=args.size, seed=args.seed)
    teacher = train_cached(
        demo_config(TEACHER[1], args.data, args.teacher_epochs, args.seed),
        osp.join(args.work_dir, 'teacher'), 'teacher', log)
    results = [(TEACHER[0], teacher)]
    for name, cfg_name, distilled in RUNS:
        cfg = demo_config(cfg_name, args.data, args.epochs, args.seed,
                          teacher['checkpoint'] if distilled else None)
        slug = cfg_name.replace('.py', '')
        results.append((name, train_cached(
            cfg, osp.join(args.work_dir, slug), name, log)))
    return results


def format_table(results: List[Tuple[str, dict]], args) -> str:
    """The demo's bbox mAP table."""
    lines = [
        f'bbox mAP on {args.num_val} generated val images (student R18-FPN, '
        f'{args.epochs} epochs; teacher {args.teacher_epochs} epochs)',
        f'| {"run":<20} | {"mAP":>6} | {"mAP50":>6} | {"mAP75":>6} | '
        f'{"min":>5} |',
        f'|{"-" * 22}|{"-" * 8}|{"-" * 8}|{"-" * 8}|{"-" * 7}|']
    for name, r in results:
        m = r['metrics']
        lines.append(
            f'| {name:<20} | {m["bbox_mAP"]:6.3f} | {m["bbox_mAP_50"]:6.3f} | '
            f'{m["bbox_mAP_75"]:6.3f} | {r["seconds"] / 60:5.1f} |')
    return '\n'.join(lines)
