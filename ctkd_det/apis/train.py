"""Train a detector: mmdet 3.3's tools/train.py, with ctkd_det's modules registered
(importing this package registers them before the config loads).

    python tools/train.py CONFIG [--work-dir W] [--resume [CKPT]] [--cfg-options k=v]
    python -m ctkd_det.apis.train CONFIG ...   # the same
"""
import argparse

from mmengine.registry import RUNNERS

from ctkd_det.apis.launch import build_runner, load_config, parse_launch_args
from ctkd_det.utils.dist import teardown_distributed


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a detector')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='enable automatically scaling LR.')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'checkpoint in the work directory')
    return parse_launch_args(
        parser, 'override config settings, key=value (e.g. '
        'train_cfg.max_epochs=6, a list as key="[a,b]")', argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cfg = load_config(args)

    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.auto_scale_lr:
        if 'enable' in cfg.get('auto_scale_lr', {}) and \
                'base_batch_size' in cfg.auto_scale_lr:
            cfg.auto_scale_lr.enable = True
        else:
            raise RuntimeError('Can not find "auto_scale_lr" or '
                               '"auto_scale_lr.enable" or '
                               '"auto_scale_lr.base_batch_size" in your'
                               ' configuration file.')

    # resume: an explicit checkpoint, or 'auto' = latest in work_dir
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    build_runner(cfg, RUNNERS).train()
    teardown_distributed()


if __name__ == '__main__':
    main()
