"""Resume and determinism, with real mmengine Runners on tiny shapes data (the
CTKD-global shapes config, tiny models, per-iteration curriculum, seed 0,
``deterministic=True``, 4 iterations per epoch, validation after every epoch):

* A: 2 epochs, uninterrupted;
* B1: the same config for 1 epoch (a second, independent run: determinism);
* B2: B1 resumed (``resume=True`` and no ``load_from``: what ``--resume`` does)
  for the 2nd epoch; it must continue exactly as A did.

mmengine restores weights (θ included), optimizer, schedulers, message hub and
epoch/iteration; λ follows from ``runner.iter``; the RNG states (RoI sampling,
augmentation) are restored by ctkd_det's RngStateHook (mmengine does not save them:
without the hook the resumed losses differ, see the last test).

RLKD (the shapes RLKD config on the same tiny setup) resumes exactly as well:
besides the agent's weights and optimizers, its rollout in progress,
reward-model FIFO, unpaid batch and last reward metric are checkpointed.
"""
import math
import os.path as osp
import random
import signal
import time

import numpy as np

import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

from ctkd_det.apis import last_checkpoint, read_scalars
from ctkd_det.engine import RngStateHook, capture_rng_state, restore_rng_state

from _kd_runs import ResumeProbeHook, find_hook, tiny_ctkd_cfg, train_losses
from conftest import CONFIGS, assert_nested_equal, run_tool, tool_env

pytestmark = pytest.mark.usefixtures('one_torch_thread')

LOOPS = 8  # λ ramps over the 8 iterations of the 2 epochs


def _lambda(step):
    """The cosine curriculum from 0 to 1 over LOOPS steps, written out here
    (not the hook's own function)."""
    return (1 - math.cos(math.pi * min(step, LOOPS) / LOOPS)) / 2

KEYS = ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox',
        'loss_kd', 'kd_temp', 'lambda', 'grad_norm', 'acc')


def _ckpt(path):
    return _load_checkpoint(str(path), map_location='cpu')


def _train(cfg):
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


@pytest.fixture(scope='module')
def setup(tiny_shapes, tiny_teacher, tmp_path_factory):
    return dict(tmp=tmp_path_factory.mktemp('resume'), data=tiny_shapes,
                teacher=tiny_teacher)


def _cfg(setup, name, epochs, **kwargs):
    cfg = tiny_ctkd_cfg(setup['data'], setup['tmp'] / name, setup['teacher'],
                        epochs=epochs, loops=LOOPS, **kwargs)
    cfg.custom_hooks = cfg.custom_hooks + [dict(type='ResumeProbeHook')]
    return cfg


def _interrupted_and_resumed(setup, make_cfg, a_name, b_name):
    """Train ``a_name`` for 2 epochs without a break and ``b_name`` for 1 epoch,
    then resume ``b_name`` to 2 epochs from its latest checkpoint (as
    ``tools/train.py --resume``). Returns the runners and scalar records."""
    tmp = setup['tmp']
    with pytest.MonkeyPatch.context() as mp:
        # speed only: no yapf formatting of the config text a Runner logs
        mp.setattr('mmengine.config.config.FormatCode',
                   lambda text, **kwargs: (text, True))
        a = _train(make_cfg(setup, a_name, epochs=2))
        a_records = read_scalars(str(tmp / a_name))
        _train(make_cfg(setup, b_name, epochs=1))
        b1_records = read_scalars(str(tmp / b_name))
        # mmengine names a run's log dir by its start second: a resume starting
        # within the same second as B1 would append to B1's scalars.json
        time.sleep(1.1)
        resumed = make_cfg(setup, b_name, epochs=2)
        resumed.resume = True  # tools/train.py --resume: latest checkpoint of B
        b2 = _train(resumed)
    return dict(a=a, a_records=a_records, b1_records=b1_records, b2=b2,
                b2_records=read_scalars(str(tmp / b_name)), tmp=tmp)


@pytest.fixture(scope='module')
def runs(setup):
    return _interrupted_and_resumed(setup, _cfg, 'A', 'B')


def _by_iter(records):
    return {r['iter']: r for r in train_losses(records)}


def _vals(records):
    return [{k: v for k, v in r.items() if k.startswith('coco/')}
            for r in records if 'coco/bbox_mAP' in r]


def _assert_state_dicts_equal(x, y):
    assert x.keys() == y.keys()
    for k in x:
        assert torch.equal(x[k], y[k]), k


# -- determinism --------------------------------------------------------------
def test_two_runs_give_identical_losses_temperatures_and_weights(runs):
    a, b = _by_iter(runs['a_records']), _by_iter(runs['b1_records'])
    assert sorted(b) == [1, 2, 3, 4]
    for it in b:
        for key in KEYS:
            assert a[it][key] == b[it][key], (it, key)
    assert len({a[it]['kd_temp'] for it in b}) > 1  # θ moved during the epoch
    tmp = runs['tmp']
    ca, cb = _ckpt(tmp / 'A' / 'epoch_1.pth'), _ckpt(tmp / 'B' / 'epoch_1.pth')
    _assert_state_dicts_equal(ca['state_dict'], cb['state_dict'])
    assert ca['state_dict']['temperature.theta'].item() != 1.0
    for (pa, sa), (pb, sb) in zip(ca['optimizer']['state'].items(),
                                  cb['optimizer']['state'].items()):
        assert sa.keys() == sb.keys() and sa  # optimizer state (SGD or Adam)
        for key in sa:
            assert torch.equal(torch.as_tensor(sa[key]),
                               torch.as_tensor(sb[key])), key
    # validation after epoch 1, too
    assert _vals(runs['a_records'])[0] == _vals(runs['b1_records'])[0]


# -- resume ---------------------------------------------------------------------
def test_resume_restores_iteration_theta_optimizer_and_lambda(runs):
    start = find_hook(runs['b2'], ResumeProbeHook).start
    ckpt = _ckpt(runs['tmp'] / 'B' / 'epoch_1.pth')
    assert (start['epoch'], start['iter']) == (1, 4)
    assert torch.equal(start['theta'], ckpt['state_dict']['temperature.theta'])
    assert start['theta'].item() != 1.0  # not the initial θ
    theta_idx = len(ckpt['optimizer']['state']) - 1  # θ: the last parameter
    saved = ckpt['optimizer']['state'][theta_idx]
    assert start['theta_optim_state'] and \
        start['theta_optim_state'].keys() == saved.keys()
    for key, value in saved.items():  # momentum / Adam moments of θ came back
        assert torch.equal(start['theta_optim_state'][key],
                           torch.as_tensor(value)), key
    # λ is derived from runner.iter: the curriculum goes on at iteration 4
    assert start['lambda'] == pytest.approx(0.5)  # step 4 of 8: half-way
    assert start['lambda'] == pytest.approx(_lambda(4))
    assert 'rng_state' in ckpt and len(ckpt['rng_state']['ranks']) == 1


def test_resumed_losses_equal_the_uninterrupted_run(runs):
    a, b2 = _by_iter(runs['a_records']), _by_iter(runs['b2_records'])
    assert sorted(b2) == [5, 6, 7, 8]  # the iterations after the resume
    for it in b2:
        for key in KEYS:
            assert b2[it][key] == pytest.approx(a[it][key], rel=1e-6, abs=1e-7), \
                (it, key, b2[it][key], a[it][key])
        assert b2[it]['lambda'] == pytest.approx(_lambda(it - 1), abs=1e-12)
    # final θ, weights, optimizer state and validation: the same
    theta_a = runs['a'].model.temperature.theta.detach()
    theta_b = runs['b2'].model.temperature.theta.detach()
    assert torch.allclose(theta_a, theta_b, rtol=0, atol=1e-7)
    ca = _ckpt(runs['tmp'] / 'A' / 'epoch_2.pth')
    cb = _ckpt(runs['tmp'] / 'B' / 'epoch_2.pth')
    for k, v in ca['state_dict'].items():
        assert torch.allclose(v.float(), cb['state_dict'][k].float(), rtol=1e-6,
                              atol=1e-7), k
    assert _vals(runs['a_records'])[-1] == _vals(runs['b2_records'])[-1]


def test_without_rng_state_hook_the_resumed_run_diverges(runs, setup):
    """The reason for RngStateHook: mmengine restores no RNG state, and the RoI
    head's RandomSampler (torch) and RandomFlip (numpy) draw differently."""
    cfg = _cfg(setup, 'B', epochs=2)
    cfg.default_hooks.pop('rng_state')
    cfg.load_from = str(runs['tmp'] / 'B' / 'epoch_1.pth')
    cfg.resume = True
    cfg.work_dir = str(runs['tmp'] / 'C')
    cfg.train_cfg.val_interval = 10  # no validation needed here
    _train(cfg)
    a, c = _by_iter(runs['a_records']), _by_iter(read_scalars(cfg.work_dir))
    assert sorted(c) == [5, 6, 7, 8]
    assert c[5]['lambda'] == a[5]['lambda']  # λ, weights: resumed; RNG: not
    assert any(c[it]['loss'] != a[it]['loss'] for it in c)


def test_killed_tools_train_resumes_to_the_uninterrupted_run(runs, setup):
    """Through the command line: ``tools/train.py`` is SIGKILLed right after the
    epoch-1 checkpoint (a crash: no clean-up), ``tools/train.py --resume``
    continues in a new process, and its losses, λ, θ and validation equal
    those of the uninterrupted in-process run A."""
    work = setup['tmp'] / 'killed'
    cfg = _cfg(setup, 'killed', epochs=2)
    cfg.custom_imports = dict(imports=['ctkd_det', '_kd_runs'],
                              allow_failed_imports=False)
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h['type'] != 'ResumeProbeHook'] + \
        [dict(type='KillAfterEpochHook', epoch=1)]
    cfg_path = str(setup['tmp'] / 'killed.py')
    cfg.dump(cfg_path)
    train_args = [cfg_path, '--work-dir', work]

    killed = run_tool('train', *train_args,
                      env=tool_env(tests_on_path=True, CTKD_TEST_KILL='1'))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert last_checkpoint(str(work)).endswith('epoch_1.pth')
    assert not osp.exists(work / 'epoch_2.pth')
    first = _by_iter(read_scalars(str(work)))
    assert sorted(first) == [1, 2, 3, 4]

    time.sleep(1.1)  # a new log dir (mmengine names it by the start second)
    resumed = run_tool('train', *train_args, '--resume',
                       env=tool_env(tests_on_path=True))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: 1, iter: 4' in resumed.stdout + resumed.stderr
    a, b = _by_iter(runs['a_records']), _by_iter(read_scalars(str(work)))
    assert sorted(b) == [5, 6, 7, 8]
    for it in b:
        for key in KEYS:
            assert b[it][key] == pytest.approx(a[it][key], rel=1e-6, abs=1e-7), \
                (it, key, b[it][key], a[it][key])
    theta = _ckpt(work / 'epoch_2.pth')['state_dict']['temperature.theta']
    assert torch.allclose(theta, runs['a'].model.temperature.theta.detach(),
                          rtol=0, atol=1e-7)
    assert _vals(runs['a_records'])[-1] == _vals(read_scalars(str(work)))[-1]


# -- the hook's pieces ------------------------------------------------------------
def test_rng_state_roundtrip_through_weights_only_checkpoint(tmp_path):
    state = capture_rng_state()
    first = (random.random(), np.random.rand(3), torch.rand(3))
    torch.save(dict(rng_state=dict(ranks=[state])), tmp_path / 's.pth')
    loaded = torch.load(tmp_path / 's.pth', weights_only=True)  # plain types
    restore_rng_state(loaded['rng_state']['ranks'][0])
    again = (random.random(), np.random.rand(3), torch.rand(3))
    assert first[0] == again[0]
    assert np.array_equal(first[1], again[1])
    assert torch.equal(first[2], again[2])


class _FakeRunner:
    def __init__(self, resume):
        self._resume = resume


def test_hook_restores_only_on_resume_and_warns_without_state(monkeypatch):
    hook = RngStateHook()
    state = capture_rng_state()
    hook.after_load_checkpoint(_FakeRunner(False),
                               dict(rng_state=dict(ranks=[state])))
    assert hook._pending is None  # load_from: not a continuation
    hook.after_load_checkpoint(_FakeRunner(True),
                               dict(rng_state=dict(ranks=[state])))
    assert hook._pending is state
    torch.rand(5)
    hook.before_train_epoch(None)
    assert torch.equal(torch.get_rng_state(), state['torch'])
    assert hook._pending is None
    logged = []
    monkeypatch.setattr('ctkd_det.engine.hooks.rng_state_hook.print_log',
                        lambda msg, **kwargs: logged.append(msg))
    RngStateHook().after_load_checkpoint(_FakeRunner(True), dict())
    assert len(logged) == 1 and 'holds no RNG states' in logged[0]


# -- RLKD: the agent's learning state resumes exactly too ----------------------------
RLKD_CFG = osp.join(CONFIGS, 'shapes',
                    'faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py')
RLKD_KEYS = ('loss', 'loss_cls', 'loss_kd', 'kd_temp', 'kd_temp_p10',
             'kd_temp_p90', 'acc', 'rl_reward', 'rl_policy_loss',
             'rl_value_loss', 'rl_decomposition_loss', 'rl_sigma',
             'rl_advantage_pool', 'rl_stale_batches')


def _rlkd_cfg(setup, name, epochs):
    """The shapes RLKD config on the tiny models and data (4 iterations per
    epoch), no validation, the agent acting from the start and updated after
    iterations 3 and 6: the epoch-1 checkpoint falls inside a rollout, with a
    batch paid but not yet learned from and one acted on but not yet paid."""
    cfg = tiny_ctkd_cfg(setup['data'], setup['tmp'] / name, setup['teacher'],
                        epochs=epochs, config=RLKD_CFG)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.model.temperature.ppo.optimizer.lr = 3e-3
    cfg.custom_hooks = [dict(type='RLTemperatureHook', warmup_epochs=0,
                             update_interval=3)]
    return cfg


def _agent_state(runner):
    return runner.model.temperature.agent.checkpoint_state()


@pytest.fixture(scope='module')
def rlkd_runs(setup):
    out = _interrupted_and_resumed(setup, _rlkd_cfg, 'rl_A', 'rl_B')
    return dict(out, a=_agent_state(out['a']), b2=_agent_state(out['b2']))


def test_rlkd_resumed_run_equals_the_uninterrupted_run(rlkd_runs):
    a, b2 = _by_iter(rlkd_runs['a_records']), _by_iter(rlkd_runs['b2_records'])
    assert sorted(b2) == [5, 6, 7, 8]
    for it in b2:
        for key in RLKD_KEYS:
            assert key in a[it], (it, key)
            assert b2[it][key] == a[it][key], (it, key, b2[it][key], a[it][key])
    # the update after the resume (iteration 6) learned from the rollout that
    # was in progress at the checkpoint: one batch of the previous policy
    assert a[6]['rl_updates'] == 2 and a[6]['rl_stale_batches'] == 1
    assert len({a[it]['kd_temp'] for it in a}) == len(a)  # T varies by step
    # the agent: weights, optimizer moments, update count, all equal
    assert_nested_equal(rlkd_runs['a'], rlkd_runs['b2'])
    assert rlkd_runs['a']['agent']['num_updates'] == 2
    # the epoch-1 checkpoint holds the rank's rollout, FIFO and unpaid batch
    ckpt = _ckpt(rlkd_runs['tmp'] / 'rl_B' / 'epoch_1.pth')['rl_temperature']
    rank = ckpt['ranks'][0]
    assert len(ckpt['ranks']) == 1 and ckpt['version'] == 2
    assert [b['version'] for b in rank['agent']['rollout']] == [0]
    assert len(rank['agent']['buffer']) == 2
    assert rank['awaiting']['version'] == 1 and rank['last_metric'] is not None


def test_rlkd_resume_without_the_rollout_diverges(rlkd_runs, setup,
                                                  monkeypatch):
    """The reason the rollout, the FIFO and the unpaid batch are checkpointed:
    resumed from the agent's weights alone, the next update differs."""
    from ctkd_det.engine.hooks.rl_temperature_hook import RLTemperatureHook
    original = RLTemperatureHook.after_load_checkpoint

    def weights_only(self, runner, checkpoint):
        state = dict(checkpoint['rl_temperature'])
        state.pop('ranks')
        original(self, runner, dict(checkpoint, rl_temperature=state))
    monkeypatch.setattr(RLTemperatureHook, 'after_load_checkpoint',
                        weights_only)
    monkeypatch.setattr('mmengine.config.config.FormatCode',
                        lambda text, **kwargs: (text, True))
    cfg = _rlkd_cfg(setup, 'rl_C', epochs=2)
    cfg.load_from = str(rlkd_runs['tmp'] / 'rl_B' / 'epoch_1.pth')
    cfg.resume = True
    runner = _train(cfg)
    a, c = _by_iter(rlkd_runs['a_records']), _by_iter(read_scalars(cfg.work_dir))
    assert c[5]['kd_temp'] == a[5]['kd_temp']  # weights and RNG: resumed
    assert c[6]['rl_decomposition_loss'] != a[6]['rl_decomposition_loss']
    assert not torch.equal(
        _agent_state(runner)['agent']['net']['critic.0.weight'],
        rlkd_runs['a']['agent']['net']['critic.0.weight'])
