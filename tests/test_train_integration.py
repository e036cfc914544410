"""End to end on generated shapes data: a real mmengine run of the teacher config
saves a checkpoint, the CTKD config distils from it through mmengine's Runner, the
curriculum and the temperature are checked in the logs and the checkpoint, and the
student alone loads into a plain FasterRCNN and is evaluated by tools/test.py (and
mmdet's own) to the run's own last validation."""
import math
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import ctkd_det  # noqa: F401
from ctkd_det.apis import last_checkpoint, read_scalars, set_data_root
from mmdet.registry import MODELS

from conftest import CONFIGS, run_python, run_tool

CFG = osp.join(CONFIGS, 'shapes')
PLAIN_STUDENT = osp.join(CFG, 'faster-rcnn_r18_fpn_shapes.py')


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
def teacher_ckpt(tiny_shapes, tmp_path_factory):
    """A teacher checkpoint saved by a real mmengine run (meta, message_hub,
    optimizer state: loading it exercises ctkd_det's weights_only fix)."""
    work = str(tmp_path_factory.mktemp('teacher'))
    cfg = _small(Config.fromfile(osp.join(CFG, 'faster-rcnn_r50_fpn_shapes.py')),
                 tiny_shapes, work, epochs=1)
    Runner.from_cfg(cfg).train()
    return last_checkpoint(work)


@pytest.fixture(scope='module')
def ctkd_run(tiny_shapes, teacher_ckpt, tmp_path_factory):
    """The CTKD run: 2 epochs of 2 iterations, validated after the last."""
    work = str(tmp_path_factory.mktemp('ctkd'))
    cfg = Config.fromfile(
        osp.join(CFG, 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py'))
    cfg = _small(cfg, tiny_shapes, work, epochs=2)
    cfg.model.teacher_ckpt = teacher_ckpt
    # per-iteration curriculum, 4 iterations: λ = 0, .15, .5, .85
    cfg.custom_hooks = [dict(type='CurriculumTemperatureHook', loops=4,
                             by_epoch=False, lambda_max=1.0)]
    # a larger lr for θ so 4 steps visibly move it
    cfg.optim_wrapper.paramwise_cfg.custom_keys.temperature.lr_mult = 200.0
    # 4 training iterations: keep every box so that COCO eval has detections
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    runner = Runner.from_cfg(cfg)
    runner.train()
    val = [r for r in read_scalars(work) if 'coco/bbox_mAP' in r][-1]
    return dict(work=work, runner=runner, cfg=cfg,
                val={k: v for k, v in val.items() if k.startswith('coco/')})


def _student_state(ckpt_path):
    """A distillation checkpoint's weights but the temperature's: the
    student's (the teacher is not saved)."""
    state = _load_checkpoint(ckpt_path, map_location='cpu')['state_dict']
    return {k: v for k, v in state.items() if not k.startswith('temperature.')}


@pytest.fixture(scope='module')
def student_ckpt(ctkd_run):
    """The run's student weights alone: the file tools/test.py reads."""
    out = osp.join(ctkd_run['work'], 'student_only.pth')
    torch.save(dict(state_dict=_student_state(last_checkpoint(ctkd_run['work'])),
                    meta=dict()), out)
    return out


def test_curriculum_followed_and_temperature_moved(ctkd_run):
    train = [r for r in read_scalars(ctkd_run['work']) if 'loss_kd' in r]
    assert [r['iter'] for r in train] == [1, 2, 3, 4]
    for r in train:
        # λ = (1 - cos(π i / 4)) / 2 at the i-th (0-based) of 4 iterations
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


def test_checkpoint_has_student_only_and_loads_into_plain_faster_rcnn(
        ctkd_run, student_ckpt):
    ckpt = _load_checkpoint(last_checkpoint(ctkd_run['work']), map_location='cpu')
    state = ckpt['state_dict']
    assert not any('teacher' in k for k in state)
    assert 'temperature.theta' in state
    plain = MODELS.build(Config.fromfile(PLAIN_STUDENT).model)
    assert type(plain).__name__ == 'FasterRCNN'
    # the file tools/test.py reads: the student weights only
    student = torch.load(student_ckpt, map_location='cpu')['state_dict']
    assert set(student) == {k for k in state if not k.startswith('temperature.')}
    plain.load_state_dict(student, strict=True)


def _mmdet_tools_test():
    """mmdet's own tools/test.py, shipped in its wheel (``mmdet/.mim/tools``)."""
    import mmdet
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'test.py')
    assert osp.isfile(path), f'mmdet wheel without tools/test.py: {path}'
    return path


@pytest.mark.parametrize('tool', ['mmdet', 'ctkd_det'])
def test_tools_test_evaluates_student_with_plain_config(
        ctkd_run, student_ckpt, tiny_shapes, tmp_path, tool):
    """The student-only checkpoint, the plain student config (no KD keys):
    mmdet's own tools/test.py and ours evaluate it to the distillation run's
    own last validation (the KD detector predicts with its student alone), so
    both to the same metrics."""
    cfg = _small(Config.fromfile(PLAIN_STUDENT), tiny_shapes, str(tmp_path),
                 epochs=1)
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # as in the run's validation
    assert cfg.model.type == 'FasterRCNN'
    cfg_path = str(tmp_path / 'plain.py')
    cfg.dump(cfg_path)
    args = (cfg_path, student_ckpt, '--work-dir', tmp_path)
    if tool == 'mmdet':
        proc = run_python(_mmdet_tools_test(), *args, cwd=tmp_path)
    else:
        proc = run_tool('test', *args, cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'unexpected key' not in out.lower() and 'missing key' not in out.lower()
    lines = [line for line in out.splitlines() if 'coco/bbox_mAP:' in line]
    assert lines, out[-3000:]
    metrics = {k: float(v) for k, v in
               re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', lines[-1])}
    assert len(ctkd_run['val']) == 6 and metrics == ctkd_run['val']
