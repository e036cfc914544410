"""End to end on generated shapes data: a real mmengine run of the teacher config
saves a checkpoint, the CTKD config distils from it through mmengine's Runner, the
curriculum and the temperature are checked in the logs and the checkpoint, and the
student alone loads into a plain FasterRCNN and is evaluated by tools/test.py."""
import math
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import ctkd_det  # noqa: F401
from ctkd_det.apis import last_checkpoint, read_scalars, set_data_root
from ctkd_det.datasets import make_shapes
from mmdet.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG = osp.join(REPO, 'configs', 'shapes')


def _small(cfg, data_root, work_dir, epochs, batch=4):
    """Shrink a shapes config for a test: tiny data, few iterations."""
    set_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.train_dataloader.batch_size = batch
    cfg.val_dataloader.batch_size = batch
    cfg.test_dataloader.batch_size = batch
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    # a few iterations from scratch on 8 images: keep the steps small and stable
    cfg.optim_wrapper.optimizer.lr = 0.005
    cfg.optim_wrapper.clip_grad = dict(max_norm=10, norm_type=2)
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.log_processor.window_size = 1
    # one Runner per test run in one process: mmengine's visualizer is a named
    # global instance, and its JSON scalars would land in the first run's dir
    cfg.visualizer.name = f'vis_{osp.basename(work_dir)}'
    return cfg


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    root = tmp_path_factory.mktemp('shapes')
    make_shapes(str(root), num_train=8, num_val=4, size=96, seed=0)
    return str(root)


@pytest.fixture(scope='module')
def teacher_ckpt(shapes, tmp_path_factory):
    """A teacher checkpoint saved by a real mmengine run (meta, message_hub,
    optimizer state: loading it exercises ctkd_det's weights_only fix)."""
    work = str(tmp_path_factory.mktemp('teacher'))
    cfg = _small(Config.fromfile(osp.join(CFG, 'faster-rcnn_r50_fpn_shapes.py')),
                 shapes, work, epochs=1)
    Runner.from_cfg(cfg).train()
    return last_checkpoint(work)


@pytest.fixture(scope='module')
def ctkd_run(shapes, teacher_ckpt, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('ctkd'))
    cfg = Config.fromfile(
        osp.join(CFG, 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py'))
    cfg = _small(cfg, shapes, work, epochs=2)
    cfg.model.teacher_ckpt = teacher_ckpt
    # per-iteration curriculum, 4 iterations: λ = 0, .15, .5, .85
    cfg.custom_hooks = [dict(type='CurriculumTemperatureHook', loops=4,
                             by_epoch=False, lambda_max=1.0)]
    # a larger lr for θ so 4 steps visibly move it
    cfg.optim_wrapper.paramwise_cfg.custom_keys.temperature.lr_mult = 200.0
    # 4 training iterations: keep every box so that COCO eval has detections
    # (as the plain student's evaluation below)
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    runner = Runner.from_cfg(cfg)
    runner.train()
    return dict(work=work, runner=runner, cfg=cfg)


def test_curriculum_followed_and_temperature_moved(ctkd_run):
    train = [r for r in read_scalars(ctkd_run['work']) if 'loss_kd' in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    for r in train:
        # cosine curriculum over 4 iterations, written out: λ = (1 - cos(πk/4)) / 2
        assert r['lambda'] == pytest.approx(
            (1 - math.cos(math.pi * (r['iter'] - 1) / 4)) / 2)
        assert 1.0 <= r['kd_temp'] <= 21.0 and r['loss_kd'] >= 0
    model = ctkd_run['runner'].model
    theta = model.temperature.theta.item()
    assert theta != pytest.approx(1.0, abs=1e-4), 'temperature did not move'
    # iteration 1 ran at λ = 0: T unchanged from its initial value there
    t0 = 1 + 20 * torch.sigmoid(torch.tensor(1.0)).item()
    assert train[0]['kd_temp'] == pytest.approx(t0, rel=1e-5)
    assert train[1]['kd_temp'] == pytest.approx(t0, rel=1e-5)  # λ=0 step moved nothing
    assert train[-1]['kd_temp'] != pytest.approx(t0, rel=1e-4)
    assert not model.teacher.training


@pytest.fixture(scope='module')
def student_ckpt(ctkd_run):
    """The student alone (the CTKD checkpoint without ``temperature.*``), as a
    checkpoint file tools/test.py can read."""
    from mmengine.runner.checkpoint import _load_checkpoint
    ckpt = _load_checkpoint(last_checkpoint(ctkd_run['work']), map_location='cpu')
    student = {k: v for k, v in ckpt['state_dict'].items()
               if not k.startswith('temperature.')}
    out = osp.join(ctkd_run['work'], 'student_only.pth')
    torch.save(dict(state_dict=student, meta=dict()), out)
    return dict(path=out, state_dict=ckpt['state_dict'])


def test_checkpoint_has_student_only_and_loads_into_plain_faster_rcnn(
        student_ckpt):
    state = student_ckpt['state_dict']
    assert not any('teacher' in k for k in state)
    assert 'temperature.theta' in state
    student = torch.load(student_ckpt['path'])['state_dict']
    assert set(state) - set(student) == {'temperature.theta'}
    plain_cfg = Config.fromfile(osp.join(CFG, 'faster-rcnn_r18_fpn_shapes.py'))
    plain = MODELS.build(plain_cfg.model)
    assert type(plain).__name__ == 'FasterRCNN'
    plain.load_state_dict(student, strict=True)


def _mmdet_tools_test():
    """mmdet's own tools/test.py, shipped in its wheel (``mmdet/.mim/tools``)."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    assert osp.isfile(path), f'mmdet wheel without tools/test.py: {path}'
    return path


@pytest.mark.parametrize('tool', ['mmdet', 'ctkd_det'])
def test_tools_test_evaluates_student_with_plain_config(ctkd_run, student_ckpt,
                                                        shapes, tmp_path, tool):
    """The student-only checkpoint, the plain student config (no KD keys):
    mmdet's own tools/test.py and ours evaluate it to the metrics the CTKD run
    itself reported when it validated these weights (same images, same
    test_cfg): the exported student is the trained one."""
    ckpt = student_ckpt['path']
    cfg = Config.fromfile(osp.join(CFG, 'faster-rcnn_r18_fpn_shapes.py'))
    cfg = _small(cfg, shapes, str(tmp_path), epochs=1)
    # 4 training iterations: keep every box so that COCO eval has detections
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    assert cfg.model.type == 'FasterRCNN'
    cfg_path = str(tmp_path / 'plain.py')
    cfg.dump(cfg_path)
    script = (_mmdet_tools_test() if tool == 'mmdet'
              else osp.join(REPO, 'tools', 'test.py'))
    proc = subprocess.run(
        [sys.executable, script, cfg_path, ckpt, '--work-dir', str(tmp_path)],
        capture_output=True, text=True, cwd=str(tmp_path), timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'unexpected key' not in out.lower() and 'missing key' not in out.lower()
    lines = [line for line in out.splitlines() if 'coco/bbox_mAP:' in line]
    assert lines, out[-3000:]
    metrics = dict(re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', lines[-1]))
    assert len(metrics) == 6 and float(metrics['coco/bbox_mAP_50']) >= 0
    val = [r for r in read_scalars(ctkd_run['work']) if 'coco/bbox_mAP' in r]
    assert len(val) == 1  # validated once, after the last epoch
    for key, value in metrics.items():
        assert float(value) == pytest.approx(val[0][key], abs=1e-4), key
