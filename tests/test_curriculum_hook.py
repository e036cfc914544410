"""CurriculumTemperatureHook: the cosine schedule and what it sets and logs."""
import math
from types import SimpleNamespace

import pytest
import torch.nn as nn
from mmengine.logging import MessageHub

import ctkd_det  # noqa: F401
from ctkd_det.engine import CurriculumTemperatureHook, cosine_lambda
from ctkd_det.models import GlobalTemperature
from mmdet.registry import HOOKS


def test_cosine_schedule_values():
    assert cosine_lambda(0, 0., 1., 10) == 0
    assert cosine_lambda(5, 0., 1., 10) == pytest.approx(0.5)
    assert cosine_lambda(10, 0., 1., 10) == pytest.approx(1.0)
    assert cosine_lambda(25, 0., 1., 10) == pytest.approx(1.0)  # holds λ_max
    assert cosine_lambda(3, 0.2, 0.8, 10) == pytest.approx(
        0.2 + 0.6 * (1 - math.cos(math.pi * 0.3)) / 2)
    vals = [cosine_lambda(e, 0., 1., 10) for e in range(12)]
    assert all(a < b for a, b in zip(vals[:10], vals[1:11]))  # easy → hard


class _Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.temperature = GlobalTemperature()


def _runner(epoch, it, model=None):
    return SimpleNamespace(model=model or _Model(), epoch=epoch, iter=it,
                           message_hub=MessageHub.get_instance('test_hook'))


@pytest.mark.parametrize('by_epoch,epoch,it,step', [(True, 4, 99, 4),
                                                     (False, 4, 7, 7)])
def test_hook_sets_lambda_and_logs(by_epoch, epoch, it, step):
    hook = HOOKS.build(dict(type='CurriculumTemperatureHook', loops=10,
                            lambda_max=2.0, by_epoch=by_epoch))
    runner = _runner(epoch, it)
    assert runner.model.temperature.lambda_ == 0.0  # 0 before training
    hook.before_run(runner)
    hook.before_train_iter(runner, 0)
    # λ_max (1 - cos(π step / loops)) / 2, written out (not the hook's function)
    expected = {4: 2.0 * (1 - math.cos(math.pi * 0.4)) / 2,
                7: 2.0 * (1 - math.cos(math.pi * 0.7)) / 2}[step]
    assert expected > 0
    assert runner.model.temperature.lambda_ == pytest.approx(expected)
    assert runner.message_hub.get_scalar('train/lambda').current() == \
        pytest.approx(expected)


def test_hook_reaches_through_model_wrappers():
    from mmengine.model import is_model_wrapper
    from mmengine.registry import MODEL_WRAPPERS

    @MODEL_WRAPPERS.register_module(force=True)
    class _FakeWrapper(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module

    inner = _Model()
    runner = _runner(1, 0, model=_FakeWrapper(inner))
    assert is_model_wrapper(runner.model)
    CurriculumTemperatureHook(loops=2).before_train_iter(runner, 0)
    assert inner.temperature.lambda_ == pytest.approx(0.5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(lambda_min=0.5, lambda_max=0.1), 'lambda_min <= lambda_max'),
    (dict(lambda_min=-1.0), 'lambda_min <= lambda_max'),
    (dict(loops=0), 'loops must be'),
    (dict(loops=2.5), 'loops must be'),
])
def test_hook_rejects_bad_configs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CurriculumTemperatureHook(**kwargs)


def test_hook_fails_before_training_without_temperature_module():
    hook = CurriculumTemperatureHook()
    with pytest.raises(RuntimeError, match='no temperature module'):
        hook.before_run(_runner(0, 0, model=nn.Linear(2, 2)))
