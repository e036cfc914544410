"""Test (and evaluate) a detector: mmdet 3.3's tools/test.py, with ctkd_det registered."""
import argparse
import os
import os.path as osp
import sys
import warnings
from copy import deepcopy

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import ctkd_det  # noqa: F401,E402  registers our models/hooks before configs load

from mmengine import ConfigDict  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmdet.engine.hooks.utils import trigger_visualization_hook  # noqa: E402
from mmdet.evaluation import DumpDetResults  # noqa: E402
from mmdet.registry import RUNNERS  # noqa: E402
from mmdet.utils import setup_cache_size_limit_of_dynamo  # noqa: E402

from ctkd_det.utils.dist import (setup_cpu_distributed,  # noqa: E402
                                  teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='MMDet test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir',
                        help='the dir to save the evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='dump predictions to a pickle file')
    parser.add_argument('--show', action='store_true',
                        help='show prediction results')
    parser.add_argument('--show-dir',
                        help='save painted images to work_dir/timestamp/show_dir')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (a list as key="[a,b]")')
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        help='job launcher')
    parser.add_argument('--tta', action='store_true')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _use_tta(cfg):
    """Wrap the model in DetTTAModel with a flip test-time-augmentation pipeline."""
    if 'tta_model' not in cfg:
        warnings.warn('Cannot find ``tta_model`` in config, using the default.')
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5),
                         max_per_img=100))
    if 'tta_pipeline' not in cfg:
        warnings.warn('Cannot find ``tta_pipeline`` in config, using the default.')
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        cfg.tta_pipeline = deepcopy(test_data_cfg.pipeline)
        cfg.tta_pipeline[-1] = dict(
            type='TestTimeAug',
            transforms=[[dict(type='RandomFlip', prob=1.),
                         dict(type='RandomFlip', prob=0.)],
                        [dict(type='PackDetInputs',
                              meta_keys=('img_id', 'img_path', 'ori_shape',
                                         'img_shape', 'scale_factor', 'flip',
                                         'flip_direction'))]])
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def main():
    args = parse_args()
    setup_cache_size_limit_of_dynamo()

    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)

    # work_dir: CLI > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        _use_tta(cfg)

    # CPU-only torch: gloo instead of mmengine's CUDA-only init_dist
    setup_cpu_distributed(cfg)

    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)

    if args.out is not None:
        assert args.out.endswith(('.pkl', '.pickle')), \
            'The dump file must be a pkl file.'
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
