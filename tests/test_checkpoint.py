"""mmengine runner checkpoints load on torch>=2.6 while staying weights_only:
real checkpoints load and resume, code-running pickles are refused."""
import os
import pickle
import shlex
import uuid

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.hooks import Hook
from mmengine.logging import MessageHub, MMLogger
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import CheckpointLoader
from mmengine.visualization import Visualizer
from torch.utils.data import Dataset

from ctkd_det.utils import (mmengine_safe_globals,
                            patch_mmengine_checkpoint_loading,
                            restricted_getattr, safe_checkpoint_loading)

MAX_ITERS = 3


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=((out - labels)**2).mean())
        return out


class ToyDataset(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(
            inputs=torch.full((2, ), float(i)),
            labels=torch.tensor([float(i)]))


class _ResumeProbe(Hook):
    """Records what the runner holds right after load_or_resume()."""

    def before_train(self, runner):
        hub = runner.message_hub
        self.iter = runner.iter
        self.last_ckpt = hub.get_info('last_ckpt')
        self.loss_hist = hub.get_scalar('train/loss').data[0].copy()
        self.loss_mean = hub.get_scalar('train/loss').mean()
        self.opt_state = len(runner.optim_wrapper.optimizer.state)


def _make_runner(work_dir, max_iters, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'ckpt_test_{uuid.uuid4().hex[:8]}',
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=1000),
        default_hooks=dict(
            checkpoint=dict(
                type='CheckpointHook', interval=MAX_ITERS, by_epoch=False)),
        default_scope='mmengine',
        log_level='WARNING',
        **kwargs)


@pytest.fixture(scope='module', autouse=True)
def _restore_global_instances():
    """Runners register current DefaultScope/MessageHub/logger instances;
    drop ours so later tests still see conftest's mmdet scope."""
    managers = (DefaultScope, MessageHub, MMLogger, Visualizer)
    before = {cls: set(cls._instance_dict) for cls in managers}
    yield
    for cls in managers:
        for name in set(cls._instance_dict) - before[cls]:
            inst = cls._instance_dict.pop(name)
            for handler in getattr(inst, 'handlers', [])[:]:
                handler.close()
                inst.removeHandler(handler)


@pytest.fixture(scope='module')
def saved(tmp_path_factory, _restore_global_instances):
    """A checkpoint written by a real mmengine Runner (3 SGD iterations)."""
    patch_mmengine_checkpoint_loading()
    work_dir = tmp_path_factory.mktemp('run')
    runner = _make_runner(work_dir, MAX_ITERS)
    runner.train()
    path = work_dir / f'iter_{MAX_ITERS}.pth'
    assert path.is_file()
    weights = {
        k: v.detach().clone()
        for k, v in runner.model.state_dict().items()
    }
    loss_hist = runner.message_hub.get_scalar('train/loss').data[0].copy()
    return path, weights, loss_hist


def test_plain_torch_load_fails_on_runner_checkpoint(saved):
    # The premise: weights_only is torch's default and rejects the checkpoint.
    path, _, _ = saved
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(path)


def test_scoped_load_and_allowlist_restored(saved):
    path, weights, _ = saved
    before = set(torch.serialization.get_safe_globals())
    with safe_checkpoint_loading():
        with safe_checkpoint_loading():  # nesting must not drop the outer
            pass
        ckpt = torch.load(path)
    assert set(torch.serialization.get_safe_globals()) == before
    assert ckpt['meta']['iter'] == MAX_ITERS
    hub = ckpt['message_hub']['log_scalars']
    assert isinstance(hub['train/loss'], HistoryBuffer)
    torch.testing.assert_close(ckpt['state_dict']['linear.weight'],
                               weights['linear.weight'])
    with torch.serialization.safe_globals(mmengine_safe_globals()):
        assert torch.load(path)['meta']['iter'] == MAX_ITERS


def test_mmengine_load_checkpoint(saved):
    path, weights, _ = saved
    before = set(torch.serialization.get_safe_globals())
    model = ToyModel()
    ckpt = load_checkpoint(model, str(path), map_location='cpu')
    assert ckpt['meta']['iter'] == MAX_ITERS
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, weights[k])
    assert set(torch.serialization.get_safe_globals()) == before


def test_runner_resume(saved, tmp_path):
    path, weights, loss_hist = saved
    probe = _ResumeProbe()
    runner = _make_runner(
        tmp_path,
        MAX_ITERS + 1,
        load_from=str(path),
        resume=True,
        custom_hooks=[probe])
    runner.train()
    assert probe.iter == MAX_ITERS
    assert probe.last_ckpt == str(path)  # runtime_info of the first run
    np.testing.assert_allclose(probe.loss_hist, loss_hist)
    assert probe.loss_mean == pytest.approx(float(np.mean(loss_hist)))
    assert probe.opt_state > 0  # SGD momentum buffers came back
    assert runner.iter == MAX_ITERS + 1


def _write_marker(path):
    with open(path, 'w') as f:
        f.write('pwned')
    return {}


class _CallsPython:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (_write_marker, (self.marker, ))


class _CallsOsSystem:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f'touch {shlex.quote(self.marker)}', ))


@pytest.mark.parametrize('payload', [_CallsPython, _CallsOsSystem])
def test_malicious_checkpoint_refused(payload, tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(
        dict(
            state_dict=ToyModel().state_dict(),
            meta=dict(iter=1, evil=payload(marker))), path)

    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(ToyModel(), str(path), map_location='cpu')
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    with safe_checkpoint_loading(), pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    assert not marker.exists()

    # Control: the payload is live, so the refusals above are meaningful.
    torch.load(path, weights_only=False)
    assert marker.exists()


class _Getattr:

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return (getattr, (self.obj, self.name))


@pytest.mark.parametrize('obj,name', [
    (HistoryBuffer, '__init__'),
    (HistoryBuffer, 'register_statistics'),
    (HistoryBuffer, '__class__'),
    (np.ndarray, 'tofile'),
])
def test_getattr_on_non_allowed_name_refused(obj, name, tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save(dict(meta=dict(x=_Getattr(obj, name))), path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_restricted_getattr():
    assert restricted_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for name in ('min', 'max', 'current', 'mean'):
        restricted_getattr(HistoryBuffer(), name)
    with pytest.raises(pickle.UnpicklingError):
        restricted_getattr(os, 'system')
    with pytest.raises(pickle.UnpicklingError):
        restricted_getattr(HistoryBuffer.mean, '__globals__')


class _Plain:
    pass


def test_non_allowlisted_class_still_refused(tmp_path):
    # weights_only stays on inside our scope: unknown classes are refused.
    path = tmp_path / 'obj.pth'
    torch.save(dict(meta=dict(x=_Plain())), path)
    with safe_checkpoint_loading(), pytest.raises(pickle.UnpicklingError,
                                                  match='Unsupported global'):
        torch.load(path)


def test_patch_is_idempotent():
    patch_mmengine_checkpoint_loading()
    load_fn = CheckpointLoader.__dict__['load_checkpoint'].__func__
    schemes = dict(CheckpointLoader._schemes)
    patch_mmengine_checkpoint_loading()
    assert CheckpointLoader.__dict__['load_checkpoint'].__func__ is load_fn
    assert dict(CheckpointLoader._schemes) == schemes
    wrapped = [load_fn] + list(schemes.values())
    for fn in wrapped:
        assert fn.__ctkd_safe_checkpoint_wrapped__
        assert not hasattr(fn.__wrapped__, '__ctkd_safe_checkpoint_wrapped__')
    assert CheckpointLoader._schemes[''].__name__ == 'load_from_local'


def test_numpy1_paths_load(tmp_path):
    # Checkpoints written under numpy<2 name numpy.core.multiarray.*.
    buf = tmp_path / 'np1.pth'
    torch.save(dict(a=np.arange(3.), s=np.float64(1.5)), buf,
               _use_new_zipfile_serialization=False)  # pickle stays inline
    raw = buf.read_bytes()
    assert raw.count(b'numpy._core.multiarray') == 2
    buf.write_bytes(raw.replace(b'numpy._core.', b'numpy.core.'))
    with safe_checkpoint_loading():
        out = torch.load(buf)
    np.testing.assert_array_equal(out['a'], np.arange(3.))
    assert out['s'] == 1.5
