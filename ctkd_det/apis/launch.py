"""What ``tools/train.py`` and ``tools/test.py`` share: the launcher arguments,
the config from the command line (``--cfg-options``, ``--work-dir``) and the Runner
built on it, with CPU-only distributed training set up first
(``ctkd_det.utils.dist``)."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmdet.utils import setup_cache_size_limit_of_dynamo

from ctkd_det.utils.dist import setup_cpu_distributed


def parse_launch_args(parser: argparse.ArgumentParser, cfg_options_help: str,
                      argv=None) -> argparse.Namespace:
    """Add ``--cfg-options``, ``--launcher`` and torchrun's ``--local-rank`` to
    ``parser`` and parse ``argv``; ``LOCAL_RANK`` from ``--local-rank`` unless
    the launcher set it."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help=cfg_options_help)
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    # torch>=2.0's launcher passes --local-rank
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(args: argparse.Namespace) -> Config:
    """``args.config`` with ``--launcher`` and ``--cfg-options`` applied; work_dir:
    ``--work-dir`` > the config's > ``./work_dirs/<config name>``."""
    setup_cache_size_limit_of_dynamo()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_runner(cfg: Config, runners) -> Runner:
    """The Runner of ``cfg`` (a ``runner_type`` from the ``runners`` registry).

    CPU-only torch: mmengine's init_dist needs CUDA; gloo is initialised here
    (mmengine then skips its own init) and DDP wraps the CPU model (no
    device_ids)."""
    setup_cpu_distributed(cfg)
    if 'runner_type' not in cfg:
        return Runner.from_cfg(cfg)
    return runners.build(cfg)
