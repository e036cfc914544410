"""Bad input fails with one clear error before the first training iteration, at the
config / Runner level (the detector- and hook-level checks themselves are unit-tested
in test_kd_detector.py, test_temperature.py, test_curriculum_hook.py); non-finite
teacher logits during real training steps skip the KD term and training goes on."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from ctkd_det.apis import read_scalars
from ctkd_det.models import KDTwoStageDetector

from _kd_runs import save_tiny_teacher, tiny_ctkd_cfg, train_losses
from _tiny import tiny_faster_rcnn
from conftest import CONFIGS, run_tool

pytestmark = pytest.mark.usefixtures('one_torch_thread')


@pytest.fixture(autouse=True)
def no_config_formatting(monkeypatch):
    """Speed only: a Runner formats its config with yapf twice (log and
    visualizer), ~2 s per Runner here; these tests build ~20 of them."""
    monkeypatch.setattr('mmengine.config.config.FormatCode',
                        lambda text, **kwargs: (text, True))


@pytest.fixture(scope='module')
def env(tiny_shapes, tiny_teacher):
    return dict(data=tiny_shapes, teacher=tiny_teacher)


def _cfg(env, tmp_path, epochs=1):
    return tiny_ctkd_cfg(env['data'], str(tmp_path / 'work'), env['teacher'],
                         epochs=epochs)


def _bad_teacher_ckpt(kind, tmp_path):
    if kind == 'missing':
        return str(tmp_path / 'no-such-teacher.pth')
    if kind == 'unreadable':
        path = tmp_path / 'garbage.pth'
        path.write_bytes(b'this is not a checkpoint')
        return str(path)
    # 'architecture': a wider network's weights
    return save_tiny_teacher(tmp_path / 'wide.pth', base_channels=16)


def _set_temperature(**kw):
    return lambda cfg: cfg.model.temperature.update(kw)


def _set_curriculum(**kw):
    return lambda cfg: cfg.custom_hooks[0].update(kw)


def _set_teacher_config(value):
    def apply(cfg):
        cfg.model.teacher_config = value
    return apply


# (name, config change, exception, message)
CASES = [
    ('teacher_ckpt missing', 'missing', FileNotFoundError,
     'teacher_ckpt not found: .*no-such-teacher.pth'),
    ('teacher_ckpt unreadable', 'unreadable', RuntimeError,
     'teacher_ckpt .*garbage.pth could not be read'),
    ('teacher_ckpt of another architecture', 'architecture', RuntimeError,
     'teacher_ckpt .*wide.pth does not match teacher_config: .*shape mismatches'),
    ('teacher_config not found',
     _set_teacher_config('/nowhere/teacher_config.py'), FileNotFoundError,
     'teacher_config file not found: /nowhere/teacher_config.py'),
    ('teacher_config mmdet:: path not found',
     _set_teacher_config('mmdet::faster_rcnn/no-such.py'), FileNotFoundError,
     'could not be resolved'),
    ('class counts differ',
     _set_teacher_config(tiny_faster_rcnn(num_classes=5)), ValueError,
     'teacher num_classes=5, student num_classes=4'),
    ('temperature bounds inverted', _set_temperature(t_min=5.0, t_max=2.0),
     ValueError, 't_min=5.0, t_max=2.0'),
    ('temperature t_min zero', _set_temperature(t_min=0.0), ValueError,
     '0 < t_min < t_max'),
    ('temperature t_min negative', _set_temperature(t_min=-1.0, t_max=-0.5),
     ValueError, '0 < t_min < t_max'),
    ('fixed temperature non-positive',
     lambda cfg: setattr(cfg.model, 'temperature',
                         dict(type='FixedTemperature', value=0.0)),
     ValueError, 'value must be > 0'),
    ('instance temperature bounds inverted',
     lambda cfg: setattr(cfg.model, 'temperature', dict(
         type='InstanceTemperature', num_classes=5, t_min=3.0, t_max=3.0)),
     ValueError, '0 < t_min < t_max'),
    ('lambda range inverted', _set_curriculum(lambda_min=0.8, lambda_max=0.2),
     ValueError, 'lambda_min <= lambda_max'),
    ('lambda negative', _set_curriculum(lambda_min=-0.5), ValueError,
     'lambda_min <= lambda_max'),
    ('loops zero', _set_curriculum(loops=0), ValueError, 'loops must be an int > 0'),
    ('loops negative', _set_curriculum(loops=-3), ValueError,
     'loops must be an int > 0'),
]


@pytest.mark.parametrize('change,exc,match', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_config_fails_when_the_runner_is_built(env, tmp_path, change, exc,
                                                   match):
    cfg = _cfg(env, tmp_path)
    if isinstance(change, str):
        cfg.model.teacher_ckpt = _bad_teacher_ckpt(change, tmp_path)
    else:
        change(cfg)
    with pytest.raises(exc, match=match):
        Runner.from_cfg(cfg)  # builds model and hooks: nothing trained yet


def test_tools_train_reports_one_clear_error(env, tmp_path):
    """Through the command line: a non-zero exit, the error as the last line,
    no training step, no checkpoint."""
    cfg = _cfg(env, tmp_path)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    work = str(tmp_path / 'work')
    proc = run_tool('train', cfg_path, '--work-dir', work, '--cfg-options',
                    f'model.teacher_ckpt={tmp_path}/missing-teacher.pth')
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last == ('FileNotFoundError: teacher_ckpt not found: '
                    f'{tmp_path}/missing-teacher.pth'), proc.stderr[-3000:]
    assert 'Epoch(train)' not in proc.stdout + proc.stderr
    assert not osp.exists(osp.join(work, 'last_checkpoint'))


# -- dataset classes vs model: DistillDataCheckHook -------------------------------
def _train_expecting_error(cfg, match):
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=match) as err:
        runner.train()
    assert runner.iter == 0  # raised before the first iteration
    assert not train_losses(read_scalars(cfg.work_dir))
    return str(err.value)


def test_train_dataset_classes_not_matching_the_model(env, tmp_path):
    cfg = _cfg(env, tmp_path)
    cfg.train_dataloader.dataset.metainfo = dict(
        classes=('circle', 'square', 'triangle'))
    msg = _train_expecting_error(cfg, 'dataset classes do not match the model')
    assert 'train dataset (ShapesDataset) has 3 classes' in msg
    assert 'roi_head.bbox_head.num_classes=4' in msg
    assert 'val dataset' not in msg


def test_val_dataset_without_metainfo_falls_back_to_coco_classes(env, tmp_path):
    """A plain CocoDataset without ``metainfo`` silently means COCO's 80 classes."""
    cfg = _cfg(env, tmp_path)
    cfg.val_dataloader.dataset.type = 'CocoDataset'  # no metainfo of its own
    cfg.val_dataloader.dataset.pop('metainfo', None)
    msg = _train_expecting_error(cfg, 'val dataset')
    assert 'val dataset (CocoDataset) has 80 classes' in msg
    assert 'num_classes=4' in msg and 'train dataset' not in msg


def test_check_and_rng_hooks_are_in_every_distillation_config():
    """Named default hooks (a dict, merged on inheritance): present in every
    KD/CTKD config, next to the CTKD configs' own custom_hooks list."""
    from mmengine.config import Config
    paths = sorted(glob.glob(osp.join(CONFIGS, 'ctkd', '*.py')) +
                   glob.glob(osp.join(CONFIGS, 'shapes', '*kd*.py')))
    assert len(paths) >= 12
    for path in paths:
        cfg = Config.fromfile(path)
        hooks = [h['type'] for h in cfg.default_hooks.values()] + \
            [h['type'] for h in cfg.get('custom_hooks', [])]
        assert 'DistillDataCheckHook' in hooks and 'RngStateHook' in hooks, path
        if 'ctkd-' in path:  # and the CTKD configs keep their curriculum
            assert 'CurriculumTemperatureHook' in hooks, path


# -- non-finite teacher logits during training ------------------------------------
def test_nan_teacher_logits_skip_kd_and_training_continues(env, tmp_path,
                                                           monkeypatch):
    calls = []
    original = KDTwoStageDetector.teacher_logits

    def nan_every_other_step(self, batch_inputs, rois, *args, **kwargs):
        out = original(self, batch_inputs, rois, *args, **kwargs)
        calls.append(len(calls))
        return out * float('nan') if len(calls) % 2 == 1 else out

    monkeypatch.setattr(KDTwoStageDetector, 'teacher_logits',
                        nan_every_other_step)
    cfg = _cfg(env, tmp_path)
    cfg.train_cfg.val_interval = 10  # no validation needed
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    runner.train()

    records = train_losses(read_scalars(cfg.work_dir))
    assert [r['iter'] for r in records] == [1, 2, 3, 4]  # every step ran
    assert len(calls) == 4 and model.kd_skipped_steps == 2
    for r in records:
        assert all(torch.isfinite(torch.tensor(float(v))) for k, v in r.items()
                   if k.startswith('loss'))
    assert [r['loss_kd'] for r in records][0::2] == [0.0, 0.0]  # skipped steps
    assert all(r['loss_kd'] > 0 for r in records[1::2])
    for n, p in model.named_parameters():
        assert torch.isfinite(p).all(), n
    changed = [n for n, p in model.named_parameters()
               if not torch.equal(p, before[n])]
    assert any(n.startswith('roi_head') for n in changed)  # the student trained
