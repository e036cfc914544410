"""RLKD end to end through mmengine's Runner, on tiny generated shapes data with
tiny student/teacher models: the shapes RLKD config's RLTemperature + hook act per
RoI, PPO updates change the agent, the agent stays out of the detector's
optimizer/state_dict, its state goes into checkpoints and a resume restores it."""
import copy
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import ctkd_det  # noqa: F401
import ctkd_det.engine.hooks.rl_temperature_hook  # noqa: F401  (registers)
import ctkd_det.models.temperature.rl_temperature  # noqa: F401  (registers)
from ctkd_det.apis import read_scalars
from mmdet.registry import HOOKS

from _kd_runs import tiny_ctkd_cfg
from conftest import CONFIGS

# tiny models: fastest, and fair to a shared machine
pytestmark = pytest.mark.usefixtures('one_torch_thread')

RLKD_CFG = osp.join(CONFIGS, 'shapes',
                    'faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py')


@HOOKS.register_module(force=True)
class AgentProbeHook(Hook):
    """Records the agent's checkpoint state when training starts (after any
    resume) and the detector optimizer's parameters."""

    priority = 'LOWEST'
    seen = {}

    def before_train(self, runner):
        temp = runner.model.temperature
        AgentProbeHook.seen = dict(
            start=copy.deepcopy(temp.agent.checkpoint_state()),
            optim_params={id(p) for g in runner.optim_wrapper.param_groups
                          for p in g['params']},
            agent_params={id(p) for m in temp.agent_modules().values()
                          for p in m.parameters()})


def _cfg(data_root, work_dir, teacher_ckpt, epochs=2):
    """``tiny_ctkd_cfg`` on the shapes RLKD config: tiny models and data, one
    checkpoint per epoch, logs every iteration, unique visualizer names."""
    cfg = tiny_ctkd_cfg(data_root, work_dir, teacher_ckpt, epochs=epochs,
                        config=RLKD_CFG)
    # 8 images, batch 2: 4 iterations per epoch; no validation (not under test)
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=epochs,
                         val_interval=epochs + 1)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    # warm-up 0, an update every 2 iterations, a step size that moves the agent
    cfg.model.temperature.ppo.optimizer.lr = 3e-3
    cfg.custom_hooks = [
        dict(type='RLTemperatureHook', warmup_epochs=0, update_interval=2),
        dict(type='AgentProbeHook'),
    ]
    cfg.randomness = dict(seed=0)
    return cfg


@pytest.fixture(scope='module')
def rlkd_run(tiny_shapes, tiny_teacher, tmp_path_factory):
    work = str(tmp_path_factory.mktemp('rlkd'))
    runner = Runner.from_cfg(_cfg(tiny_shapes, work, tiny_teacher))
    initial = copy.deepcopy(runner.model.temperature.agent.checkpoint_state())
    runner.train()
    return dict(root=tiny_shapes, teacher=tiny_teacher, work=work,
                runner=runner, initial=initial,
                probe=dict(AgentProbeHook.seen))


def _nets_equal(a, b):
    return all(torch.equal(v, b[k]) for k, v in a.items())


def test_agent_acts_per_roi_within_bounds(rlkd_run):
    train = [r for r in read_scalars(rlkd_run['work']) if 'loss_kd' in r]
    assert [r['iter'] for r in train] == list(range(1, 9))
    for r in train:
        assert 1.0 <= r['kd_temp_p10'] < r['kd_temp_p90'] <= 21.0, r
        assert r['kd_temp_p10'] <= r['kd_temp'] <= r['kd_temp_p90']
        assert r['rl_acting'] == 1.0
    # an update after every 2nd iteration: 4 in all, logged
    assert rlkd_run['runner'].model.temperature.agent.num_updates == 4
    updates = [r['rl_updates'] for r in train if 'rl_updates' in r]
    assert updates and max(updates) == 4
    assert any('rl_policy_loss' in r for r in train)
    # the configs' reward (foreground RoI accuracy, measured from the captured
    # targets) is paid from the 2nd iteration on and moves
    assert [h.reward_key for h in rlkd_run['runner'].hooks
            if type(h).__name__ == 'RLTemperatureHook'] == ['acc_fg']
    assert [h['reward_key'] for h in Config.fromfile(RLKD_CFG).custom_hooks
            if h['type'] == 'RLTemperatureHook'] == ['acc_fg']
    rewards = [r['rl_reward'] for r in train if 'rl_reward' in r]
    assert len(rewards) == 7 and any(abs(x) > 0 for x in rewards), rewards


def test_ppo_updates_changed_the_agent(rlkd_run):
    temp = rlkd_run['runner'].model.temperature
    final = temp.agent.checkpoint_state()
    assert not _nets_equal(rlkd_run['initial']['agent']['net'], final['agent']['net'])
    assert not _nets_equal(rlkd_run['initial']['decomposer']['net'],
                           final['decomposer']['net'])
    assert final['agent']['optimizer']['state'], 'agent optimizer never stepped'
    # what each update learned from, by the schedule: updates after iterations
    # 2, 4, 6, 8; each rollout holds one batch acted on by the current policy
    # (the previous one was acted on before the last update: reward model
    # only); 2 images x 64 sampled RoIs per batch; the exploration focus
    # grows from 25 % by 75 % / 10 per update
    # (logged scalars stay in the message hub: the first record of each count)
    train, seen = [], set()
    for r in read_scalars(rlkd_run['work']):
        if 'rl_updates' in r and r['rl_updates'] not in seen:
            seen.add(r['rl_updates'])
            train.append(r)
    assert [r['iter'] for r in train] == [2, 4, 6, 8]
    assert [r['rl_stale_batches'] for r in train] == [0, 1, 1, 1]
    assert [r['rl_advantage_pool'] for r in train] == [
        math.ceil((0.25 + 0.075 * k) * 128) for k in range(4)]
    assert [r['rl_focus_fraction'] for r in train] == pytest.approx(
        [0.25, 0.325, 0.4, 0.475])


def test_agent_outside_detector_optimizer_and_state_dict(rlkd_run):
    probe = rlkd_run['probe']
    assert probe['agent_params'] and not probe['agent_params'] & probe['optim_params']
    model = rlkd_run['runner'].model
    assert not any(k.startswith('temperature.') for k in model.state_dict())
    assert {id(p) for p in model.parameters()}.isdisjoint(probe['agent_params'])


def test_checkpoint_holds_agent_and_resume_restores_it(rlkd_run, tmp_path):
    work = rlkd_run['work']
    ckpt1 = _load_checkpoint(osp.join(work, 'epoch_1.pth'), map_location='cpu')
    ckpt2 = _load_checkpoint(osp.join(work, 'epoch_2.pth'), map_location='cpu')
    for ck in (ckpt1, ckpt2):
        assert set(ck['rl_temperature']) >= {'agent', 'decomposer'}
        assert not any(k.startswith('temperature.') for k in ck['state_dict'])
    final = rlkd_run['runner'].model.temperature.agent.checkpoint_state()
    assert _nets_equal(ckpt2['rl_temperature']['agent']['net'], final['agent']['net'])
    saved = ckpt1['rl_temperature']
    assert saved['agent']['num_updates'] == 2
    assert not _nets_equal(saved['agent']['net'], rlkd_run['initial']['agent']['net'])

    # resume from epoch 1 and train epoch 2
    cfg = _cfg(rlkd_run['root'], str(tmp_path), rlkd_run['teacher'])
    cfg.resume = True
    cfg.load_from = osp.join(work, 'epoch_1.pth')
    runner = Runner.from_cfg(cfg)
    runner.train()
    start = AgentProbeHook.seen['start']
    for part in ('agent', 'decomposer'):
        assert _nets_equal(saved[part]['net'], start[part]['net']), part
        a, b = saved[part]['optimizer'], start[part]['optimizer']
        assert a['state'].keys() == b['state'].keys() and a['state']
        for i, st in a['state'].items():
            for k, v in st.items():
                assert torch.equal(v, b['state'][i][k]), (part, i, k)
    assert start['agent']['num_updates'] == 2
    # ... and learning went on from there
    assert runner.model.temperature.agent.num_updates == 4
