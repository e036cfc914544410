"""Tiny KD runs for the reliability tests (resume/determinism, distributed, bad
input, export, box quality, RLKD integration): a tiny teacher checkpoint, the
CTKD-global shapes config with its models swapped for ``_tiny``'s (seconds per
run on 2 cores), and probe hooks. Training subprocesses import this module too
(``custom_imports``), so it imports nothing from ``conftest``.
"""
import os
import os.path as osp
import signal
import uuid

import torch
from mmengine.config import Config
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import save_checkpoint

import ctkd_det  # noqa: F401
from ctkd_det.apis import set_data_root
from ctkd_det.datasets import SHAPES_CLASSES
from ctkd_det.utils import unwrap_model
from mmdet.registry import HOOKS, MODELS

from _tiny import tiny_faster_rcnn

CTKD_GLOBAL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                       'configs', 'shapes',
                       'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py')
NUM_CLASSES = len(SHAPES_CLASSES)


def save_tiny_teacher(path: str, seed: int = 123, tiny=tiny_faster_rcnn,
                      **kwargs) -> str:
    """A randomly initialised tiny model (``tiny``: a ``_tiny`` builder, default
    FasterRCNN) saved as a teacher checkpoint."""
    torch.manual_seed(seed)
    model = MODELS.build(tiny(num_classes=NUM_CLASSES, **kwargs))
    model.init_weights()
    save_checkpoint(model.state_dict(), str(path))
    return str(path)


def tiny_ctkd_cfg(data_root: str, work_dir: str, teacher_ckpt, epochs: int = 2,
                  batch: int = 2, config: str = CTKD_GLOBAL,
                  loops: int = 8, tiny=tiny_faster_rcnn) -> Config:
    """The shapes CTKD-global config (with all its hooks, optimiser, data
    pipeline), on tiny data, with tiny student and teacher models (``tiny``: a
    ``_tiny`` builder of the config's detector, default FasterRCNN): ``8 / batch``
    iterations per epoch, a per-iteration curriculum over ``loops`` iterations,
    validation and a checkpoint after every epoch, deterministic seed 0."""
    cfg = Config.fromfile(config)
    set_data_root(cfg, data_root)
    cfg.work_dir = str(work_dir)
    student = tiny(num_classes=NUM_CLASSES)
    for key in student:
        if key != 'type':
            cfg.model[key] = student[key]
    # few iterations: keep every box so that COCO evaluation sees detections
    test_cfg = cfg.model.test_cfg
    (test_cfg.rcnn if 'rcnn' in test_cfg else test_cfg).score_thr = 0.0
    cfg.model.teacher_config = tiny(num_classes=NUM_CLASSES)
    cfg.model.teacher_ckpt = teacher_ckpt
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[name].batch_size = batch
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = 1
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.optim_wrapper.optimizer.lr = 0.005
    cfg.optim_wrapper.clip_grad = dict(max_norm=10, norm_type=2)
    cfg.optim_wrapper.paramwise_cfg.custom_keys.temperature.lr_mult = 200.0
    if 'CurriculumTemperatureHook' in [h['type'] for h in cfg.get('custom_hooks', [])]:
        cfg.custom_hooks = [dict(type='CurriculumTemperatureHook', loops=loops,
                                 by_epoch=False, lambda_max=1.0)]
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.log_processor.window_size = 1
    cfg.randomness = dict(seed=0, deterministic=True)
    # several Runners in one process: mmengine's visualizer, logger and message
    # hub are named global instances; unique names keep the runs apart
    tag = f'{osp.basename(osp.normpath(str(work_dir)))}_{uuid.uuid4().hex[:8]}'
    cfg.visualizer.name = f'vis_{tag}'
    cfg.experiment_name = f'exp_{tag}'
    return cfg


def train_losses(records):
    """The training records of ``read_scalars`` (those with a ``loss``)."""
    return [r for r in records if 'loss' in r and 'loss_kd' in r]


@HOOKS.register_module(force=True)
class RankStateDumpHook(Hook):
    """Test probe for multi-process runs: after every training step, record this
    rank's θ, its local loss and a checksum of the student's parameters; at the
    end save them with the final parameters and buffers to
    ``out_dir/rank{rank}.pth``."""

    priority = 'LOWEST'

    def __init__(self, out_dir: str):
        self.out_dir = out_dir
        self.steps = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        model = unwrap_model(runner.model)
        params = [p.detach().double() for n, p in model.named_parameters()
                  if not n.startswith('temperature.')]
        self.steps.append(dict(
            iter=runner.iter,
            theta=model.temperature.theta.detach().clone(),
            loss=float(outputs['loss']),
            checksum=torch.stack([p.sum() for p in params]).sum().item(),
            sq_checksum=torch.stack([(p * p).sum() for p in params]).sum().item(),
            ddp=is_model_wrapper(runner.model)))

    def after_train(self, runner):
        rank, world_size = get_dist_info()
        model = unwrap_model(runner.model)
        torch.save(dict(
            rank=rank, world_size=world_size, steps=self.steps,
            params={n: p.detach().clone() for n, p in model.named_parameters()},
            buffers={n: b.clone() for n, b in model.named_buffers()},
            teacher_in_ddp=any(n.startswith('teacher') for n, _ in
                               runner.model.named_parameters())),
            osp.join(self.out_dir, f'rank{rank}.pth'))


@HOOKS.register_module(force=True)
class ResumeProbeHook(Hook):
    """Test probe: what the run starts from (after a resume has been loaded)."""

    priority = 'LOWEST'  # after CurriculumTemperatureHook has set λ

    def __init__(self):
        self.start = None

    def before_train(self, runner):
        model = unwrap_model(runner.model)
        theta = model.temperature.theta
        state = runner.optim_wrapper.optimizer.state.get(theta, {})
        self.start = dict(iter=runner.iter, epoch=runner.epoch,
                          theta=theta.detach().clone(),
                          theta_optim_state={
                              k: torch.as_tensor(v).clone()
                              for k, v in state.items()})

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if 'lambda' not in self.start:
            model = unwrap_model(runner.model)
            self.start['lambda'] = model.temperature.lambda_


@HOOKS.register_module(force=True)
class KillAfterEpochHook(Hook):
    """Test probe: the process SIGKILLs itself right after ``epoch``'s checkpoint
    has been written (``CheckpointHook`` runs first: priority VERY_LOW), when
    the environment says ``CTKD_TEST_KILL=1``: a crash, nothing cleaned up."""

    priority = 'LOWEST'

    def __init__(self, epoch: int):
        self.epoch = epoch

    def after_train_epoch(self, runner):
        # mmengine counts runner.epoch up after this hook
        if runner.epoch + 1 == self.epoch and \
                os.environ.get('CTKD_TEST_KILL') == '1':
            os.kill(os.getpid(), signal.SIGKILL)


def find_hook(runner, cls):
    return next(h for h in runner.hooks if isinstance(h, cls))
