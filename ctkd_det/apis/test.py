"""Test (and evaluate) a detector: mmdet 3.3's tools/test.py, with ctkd_det's modules
registered (importing this package registers them before the config loads).

    python tools/test.py CONFIG CHECKPOINT [--out r.pkl] [--tta] [--cfg-options k=v]
    python -m ctkd_det.apis.test CONFIG CHECKPOINT ...   # the same
"""
import argparse
import warnings
from copy import deepcopy

from mmengine import ConfigDict

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults
from mmdet.registry import RUNNERS

from ctkd_det.apis.launch import build_runner, load_config, parse_launch_args
from ctkd_det.utils.dist import teardown_distributed


def parse_args(argv=None) -> argparse.Namespace:
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
    parser.add_argument('--tta', action='store_true')
    return parse_launch_args(
        parser, 'override config settings, key=value (a list as key="[a,b]")',
        argv)


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


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        _use_tta(cfg)

    runner = build_runner(cfg, RUNNERS)
    if args.out is not None:
        assert args.out.endswith(('.pkl', '.pickle')), \
            'The dump file must be a pkl file.'
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
