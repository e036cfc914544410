"""RLKD agent: state features, log-probabilities, GAE, reward calibration, PPO on a
toy bandit, the RLTemperature module's contract, checkpoint state and DDP sync."""
import math
import os
import time

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

import ctkd_det  # noqa: F401
import ctkd_det.models.temperature.rl_temperature  # noqa: F401  (registers)
from ctkd_det.models.recorders import RoIRecord
from ctkd_det.models.rl import (PPOAgent, RewardDecomposition, compute_gae,
                                gaussian_log_prob, instance_quality,
                                instance_state, log_abs_det_jacobian,
                                temperature_log_prob)
from ctkd_det.models.temperature.bounds import squash, unsquash
from ctkd_det.models.temperature.rl_temperature import RLTemperature
from ctkd_det.registry import MODELS

from conftest import free_port

pytestmark = pytest.mark.usefixtures('one_torch_thread')  # small MLPs


# -- state features ------------------------------------------------------------
def _softmax(row):
    e = [math.exp(v) for v in row]
    return [v / sum(e) for v in e]


def test_state_features_match_hand_computation_with_true_top2():
    student = torch.tensor([[3., 2., 1., 0.], [0., 0., 0., 4.], [1., 1., 1., 1.]])
    teacher = torch.tensor([[0., 5., 0., 0.], [1., 2., 3., 4.], [2., 0., 0., 0.]])
    got = instance_state(teacher, student)
    assert got.shape == (3, 3) and got.dtype == torch.float32
    for i in range(3):
        ps, pt = _softmax(student[i].tolist()), _softmax(teacher[i].tolist())
        desc = sorted(ps, reverse=True)
        expected = [desc[0], max(pt), desc[0] - desc[1]]
        assert got[i].tolist() == pytest.approx(expected, abs=1e-6)
    # row 0: four distinct probabilities, so the true top-2 (p of logit 2) differs
    # from the second smallest (p of logit 1) that the authors' code used
    ps0 = _softmax(student[0].tolist())
    assert got[0, 2].item() == pytest.approx(ps0[0] - ps0[1], abs=1e-6)
    assert got[0, 2].item() != pytest.approx(ps0[0] - ps0[2], abs=1e-3)
    # ties: zero margin
    assert got[2, 2].item() == pytest.approx(0.0, abs=1e-7)


def test_state_features_are_gradient_free_and_dtype_agnostic():
    s = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(5, 4, dtype=torch.float16)
    out = instance_state(t.float(), s)
    assert not out.requires_grad and out.dtype == torch.float32
    with pytest.raises(ValueError):
        instance_state(t.float(), s[:, :3])


def test_quality_prefers_confident_well_assigned_foreground():
    # 3 classes + background (column 3)
    teacher = torch.log(torch.tensor([
        [0.9, 0.05, 0.03, 0.02],  # fg, IoU .9, teacher right
        [0.1, 0.1, 0.1, 0.7],     # fg, teacher says bg
        [0.05, 0.05, 0.1, 0.8],   # bg, teacher right
        [0.6, 0.2, 0.1, 0.1]]))   # bg, teacher says fg
    labels = torch.tensor([0, 1, 3, 3])
    ious = torch.tensor([0.9, 0.8, 0.0, 0.0])
    q = instance_quality(teacher, labels, ious, background_weight=0.5)
    assert q.tolist() == pytest.approx([0.9 * 0.9, 0.8 * 0.1, 0.5 * 0.8, 0.5 * 0.1],
                                       abs=1e-5)
    assert q.argsort(descending=True).tolist() == [0, 2, 1, 3]
    # without targets: the teacher's top-1 probability
    assert instance_quality(teacher).tolist() == pytest.approx(
        [0.9, 0.7, 0.8, 0.6], abs=1e-5)


# -- log-probabilities ---------------------------------------------------------
def test_log_prob_is_of_the_pre_squash_sample():
    torch.manual_seed(0)
    agent = PPOAgent(init_temperature=6.0, log_std_init=-0.3)
    states = torch.rand(64, 3)
    out = agent.act(states)
    u, t = out['action'], out['temperature']
    mu, _ = agent.net(states)
    sigma = math.exp(-0.3)
    expected = Normal(mu, sigma).log_prob(u)
    assert torch.allclose(out['log_prob'], expected, atol=1e-5)
    assert torch.allclose(t, squash(u, 1., 21.), atol=1e-6)
    assert torch.allclose(unsquash(t, 1., 21.), u, atol=1e-3)
    # not the authors' density of the squashed value under the pre-squash Gaussian
    assert not torch.allclose(out['log_prob'], Normal(mu, sigma).log_prob(t),
                              atol=1e-2)
    # the density of T is log N(u) - log|dT/du| and integrates to one
    lp_t = temperature_log_prob(t, mu, torch.tensor(-0.3), 1., 21.)
    assert torch.allclose(lp_t, expected - log_abs_det_jacobian(u, 1., 21.),
                          atol=1e-3)
    grid = torch.linspace(1.0 + 1e-4, 21.0 - 1e-4, 200001, dtype=torch.float64)
    dens = temperature_log_prob(grid, torch.tensor(-1.0, dtype=torch.float64),
                                torch.tensor(-0.3, dtype=torch.float64),
                                1., 21.).exp()
    assert torch.trapezoid(dens, grid).item() == pytest.approx(1.0, abs=1e-3)


def test_ppo_ratio_jacobian_cancels():
    u = torch.linspace(-4, 4, 50)
    t = squash(u, 1., 21.)
    mu_old, mu_new = torch.tensor(-1.0), torch.tensor(0.3)
    ls_old, ls_new = torch.tensor(-0.5), torch.tensor(-0.2)
    ratio_u = gaussian_log_prob(u, mu_new, ls_new) - \
        gaussian_log_prob(u, mu_old, ls_old)
    ratio_t = temperature_log_prob(t, mu_new, ls_new, 1., 21.) - \
        temperature_log_prob(t, mu_old, ls_old, 1., 21.)
    assert torch.allclose(ratio_u, ratio_t, atol=1e-3)


def test_initial_policy_mean_is_init_temperature():
    agent = PPOAgent(init_temperature=4.0)
    out = agent.act(torch.rand(10, 3), deterministic=True)
    assert torch.allclose(out['temperature'], torch.full((10, ), 4.0), atol=1e-5)


# -- GAE -----------------------------------------------------------------------
def test_gae_matches_hand_computation():
    r = torch.tensor([1.0, 0.0, -1.0])
    v = torch.tensor([0.5, 0.2, 0.1])
    g, lam, last = 0.9, 0.8, 0.3
    d2 = -1.0 + g * last - 0.1
    d1 = 0.0 + g * 0.1 - 0.2
    d0 = 1.0 + g * 0.2 - 0.5
    a2 = d2
    a1 = d1 + g * lam * a2
    a0 = d0 + g * lam * a1
    adv, ret = compute_gae(r, v, last, g, lam)
    assert adv.tolist() == pytest.approx([a0, a1, a2], abs=1e-6)
    assert ret.tolist() == pytest.approx([a0 + .5, a1 + .2, a2 + .1], abs=1e-6)
    # gamma = 0: one-step advantage r - V (a contextual bandit)
    adv0, _ = compute_gae(r, v, last, 0.0, 0.95)
    assert adv0.tolist() == pytest.approx((r - v).tolist(), abs=1e-6)


# -- reward calibration --------------------------------------------------------
def test_reward_redistribution_sums_to_batch_return():
    torch.manual_seed(0)
    dec = RewardDecomposition(steps=5)
    for n, ret in [(1, 0.7), (7, -3.0), (128, 12.5), (513, -0.01)]:
        s, a = torch.rand(n, 3), torch.randn(n)
        dec.add(s, a, ret)
        r = dec.redistribute(s, a, ret)
        assert r.shape == (n, )
        assert r.double().sum().item() == pytest.approx(ret, rel=1e-5, abs=1e-6)
    dec.fit()  # a trained (non-zero) model: still exact sums
    for n, ret in [(3, 2.0), (300, -4.0)]:
        s, a = torch.rand(n, 3), torch.randn(n)
        r = dec.redistribute(s, a, ret)
        assert r.std() > 0
        assert r.double().sum().item() == pytest.approx(ret, rel=1e-5, abs=1e-6)
    # untrained model: the uniform split
    fresh = RewardDecomposition()
    r = fresh.redistribute(torch.rand(4, 3), torch.randn(4), 2.0)
    assert r.tolist() == pytest.approx([0.5] * 4)


def test_reward_decomposition_learns_instance_credit():
    """Batch returns made of a hidden per-instance reward (+1 if the first state
    feature > 0.5 else -1): the fitted model credits the right instances."""
    torch.manual_seed(0)
    dec = RewardDecomposition(steps=150, buffer_size=16,
                              optimizer=dict(type='Adam', lr=1e-2))
    batches = []
    for _ in range(16):
        s, a = torch.rand(32, 3), torch.randn(32)
        true = torch.where(s[:, 0] > 0.5, 1.0, -1.0)
        dec.add(s, a, float(true.sum()))
        batches.append((s, a, true))
    initial = sum(float(t.sum()) ** 2 for _, _, t in batches) / len(batches)  # g = 0
    assert dec.fit() < 0.3 * initial
    s, a, true = batches[0]
    r = dec.redistribute(s, a, float(true.sum()))
    assert torch.corrcoef(torch.stack([r, true]))[0, 1] > 0.8


# -- PPO on a bandit with a known best temperature -----------------------------
def _bandit(gamma, rounds, seed=0, n=256):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    agent = PPOAgent(init_temperature=4.0, gamma=gamma, entropy_coef=0.0,
                     optimizer=dict(type='Adam', lr=3e-3))
    rewards, means = [], []
    for _ in range(rounds):
        s = torch.rand(n, 3, generator=gen)
        out = agent.act(s)
        r = -(out['temperature'] - 6.0) ** 2     # best T = 6 in [1, 21]
        rewards.append(r.mean().item())
        means.append(agent.act(s, deterministic=True)['temperature'].mean().item())
        agent.update(s, out['action'], out['log_prob'], out['value'], r,
                     generator=gen)
    return rewards, means, agent


def test_ppo_moves_temperature_toward_best_on_bandit():
    rewards, means, agent = _bandit(gamma=0.0, rounds=16)
    assert means[0] == pytest.approx(4.0, abs=1e-4)
    assert abs(means[-1] - 6.0) < 0.6 and abs(means[-1] - 6.0) < abs(means[0] - 6.0) / 3
    assert sum(rewards[-4:]) / 4 > 0.5 * sum(rewards[:2]) / 2  # less negative
    assert agent.num_updates == 16


def test_ppo_improves_with_paper_discounting():
    """The paper's GAE over the sequence of instances (gamma .99, lambda .95):
    slower (neighbours' rewards add noise) but still improves."""
    rewards, means, _ = _bandit(gamma=0.99, rounds=16)
    assert means[-1] > means[0] + 0.5
    assert sum(rewards[-3:]) / 3 > 0.75 * sum(rewards[:2]) / 2  # less negative


def test_ppo_exploration_pool_restricts_learning():
    """Only the pooled transitions enter the losses: a pool of instances whose
    rewards favour T = 6 pulls the mean there even though the rest favour 2."""
    torch.manual_seed(0)
    agent = PPOAgent(init_temperature=4.0, gamma=0.0, entropy_coef=0.0,
                     optimizer=dict(type='Adam', lr=3e-3))
    s = torch.zeros(256, 3)
    for _ in range(8):
        out = agent.act(s)
        t = out['temperature']
        r = torch.cat([-(t[:64] - 6.0) ** 2, -(t[64:] - 2.0) ** 2])
        agent.update(s, out['action'], out['log_prob'], out['value'], r,
                     pool=torch.arange(64))
    assert agent.act(s[:1], deterministic=True)['temperature'].item() > 4.5


# -- the temperature module ----------------------------------------------------
def _module(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(dict(type='RLTemperature', **kwargs))


def test_rl_temperature_is_a_parameter_free_drop_in():
    m = _module(warmup_temperature=3.0)
    assert isinstance(m, RLTemperature)
    assert list(m.parameters()) == [] and m.state_dict() == {}
    assert sum(p.numel() for p in m.agent.parameters()) > 1000
    s = torch.randn(40, 5, requires_grad=True)
    t = torch.randn(40, 5, requires_grad=True)
    m.train()
    # warm-up: the fixed temperature, no transitions
    m.agent.begin_step()
    out = m(t, s)
    assert out.shape == (40, 1) and torch.all(out == 3.0)
    assert m.agent.end_step() is None
    # acting: one T per RoI, in bounds, without any graph
    m.acting = True
    m.agent.begin_step()
    out = m(t, s)
    assert out.shape == (40, 1) and not out.requires_grad
    assert out.min() >= 1.0 and out.max() <= 21.0 and out.std() > 0
    batch = m.agent.end_step()
    assert set(batch) == {'states', 'actions', 'log_probs', 'values', 'quality'}
    assert batch['states'].shape == (40, 3) and batch['actions'].shape == (40, )
    assert torch.allclose(squash(batch['actions'], 1., 21.), out[:, 0], atol=1e-5)
    # the KD loss' gradient reaches the student logits, never the agent
    from ctkd_det.models import KDLoss
    KDLoss()(s, t, m(t, s)).backward()
    assert s.grad is not None and t.grad is None
    assert all(p.grad is None for p in m.agent.parameters())
    # eval: the deterministic mean action
    m.eval()
    assert torch.equal(m(t, s), m(t, s))


def test_rl_temperature_follows_device_and_dtype_moves():
    m = _module()
    m.to(torch.float64)
    assert all(p.dtype == torch.float64 for p in m.agent.parameters())
    assert all(p.dtype == torch.float64 for p in m.agent.decomposer.parameters())
    m.train()
    m.acting = True
    out = m(torch.randn(6, 4), torch.randn(6, 4))
    assert out.dtype == torch.float32 and out.shape == (6, 1)


def test_rl_agent_uses_roi_targets_for_quality():
    m = _module()
    m.train()
    m.acting = True
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    labels, ious = torch.tensor([0, 1, 2, 2]), torch.tensor([.9, .6, 0., 0.])
    m.agent.begin_step()
    m(t, s)
    q1 = m.agent.end_step(labels, ious)['quality']
    p_t = F.softmax(t, 1)
    assert q1.tolist() == pytest.approx(
        [.9 * p_t[0, 0], .6 * p_t[1, 1], .5 * p_t[2, 2], .5 * p_t[3, 2]], abs=1e-5)
    for targets in ((), (labels[:3], ious[:3])):
        m.agent.begin_step()
        m(t, s)  # no targets, or not those of these RoIs: teacher confidence
        assert m.agent.end_step(*targets)['quality'].tolist() == pytest.approx(
            p_t.max(1).values.tolist(), abs=1e-5)


def test_rl_temperature_update_and_checkpoint_round_trip():
    m = _module(exploration=dict(start_fraction=0.5, updates=2))
    m.train()
    m.acting = True
    agent = m.agent
    before = {k: v.clone() for k, v in agent.ppo.net.state_dict().items()}
    assert agent.update() is None  # nothing rewarded yet
    for ret in (1.0, -2.0):
        agent.begin_step()
        m(torch.randn(32, 5), torch.randn(32, 5))
        agent.add_batch(agent.end_step(), ret)
    stats = agent.update()
    assert stats['focus_fraction'] == 0.5 and stats['advantage_pool'] == 32
    assert stats['batch_return'] == pytest.approx(-0.5)
    assert agent.rollout_batches == 0 and agent.num_updates == 1
    assert agent.focus_fraction() == pytest.approx(0.75)
    after = agent.ppo.net.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)

    state = agent.checkpoint_state()
    fresh = _module(exploration=dict(start_fraction=0.5, updates=2)).agent
    fresh.load_checkpoint_state(state)
    for k, v in agent.ppo.net.state_dict().items():
        assert torch.equal(v, fresh.ppo.net.state_dict()[k])
    for k, v in agent.decomposer.net.state_dict().items():
        assert torch.equal(v, fresh.decomposer.net.state_dict()[k])
    assert fresh.num_updates == 1
    opt_a = agent.ppo.optimizer.state_dict()
    opt_b = fresh.ppo.optimizer.state_dict()
    assert opt_a['state'].keys() == opt_b['state'].keys()
    for i, st in opt_a['state'].items():
        assert torch.equal(st['exp_avg'], opt_b['state'][i]['exp_avg'])


def test_rl_temperature_rejects_bad_config():
    with pytest.raises(ValueError):
        RLTemperature(t_min=2.0, t_max=1.0)
    with pytest.raises(ValueError):
        RLTemperature(warmup_temperature=30.0)
    with pytest.raises(KeyError):
        RLTemperature(exploration=dict(fraction=0.3))


# -- DDP: two gloo processes ---------------------------------------------------
def _ddp_worker(rank, world, port, out_dir):
    import torch.distributed as tdist
    torch.set_num_threads(1)
    tdist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                             rank=rank, world_size=world)
    try:
        torch.manual_seed(rank)  # different initial weights on purpose
        m = RLTemperature(exploration=dict(updates=0))
        agent = m.agent
        agent.sync()  # what RLTemperatureHook.before_train does
        m.train()
        m.acting = True
        for ret in (1.0, -1.0):
            agent.begin_step()
            n = 24 + 8 * rank   # ranks see different numbers of RoIs
            m(torch.randn(n, 5), torch.randn(n, 5))
            agent.add_batch(agent.end_step(), ret * (rank + 1))
        agent.update()
        torch.save(agent.checkpoint_state(),
                   os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        tdist.destroy_process_group()


def test_ddp_ranks_end_with_identical_agents(tmp_path):
    port = free_port()
    # fork: no re-import of torch/mmdet in the children (seconds, not tens)
    ctx = torch.multiprocessing.start_processes(
        _ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=False,
        start_method='fork')
    deadline = time.monotonic() + 120
    while not ctx.join(timeout=1):  # raises if a worker failed
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail('DDP workers did not finish within 120 s')
    a, b = (torch.load(tmp_path / f'rank{r}.pth') for r in (0, 1))
    for part in ('agent', 'decomposer'):
        for k, v in a[part]['net'].items():
            assert torch.equal(v, b[part]['net'][k]), (part, k)
    assert a['agent']['num_updates'] == b['agent']['num_updates'] == 1


# -- the hook reads the RoI targets the detector recorded (real tiny detector) ---
def test_hook_uses_recorded_roi_targets_aligned_with_rois():
    from types import SimpleNamespace

    from _tiny import fake_batch, tiny_kd
    from ctkd_det.engine.hooks.rl_temperature_hook import RLTemperatureHook

    torch.manual_seed(0)
    model = MODELS.build(tiny_kd(temperature=dict(type='RLTemperature')))
    model.train()
    agent = model.temperature.agent
    hook = RLTemperatureHook(warmup_epochs=0, update_interval=1)
    runner = SimpleNamespace(model=model, epoch=0, iter=0, message_hub=_Hub())
    hook.before_train(runner)
    seen = []
    original = agent.end_step

    def spy(labels=None, ious=None):
        seen.append((labels, ious, original(labels, ious)))
        return seen[-1][2]

    agent.end_step = spy
    hook.before_train_iter(runner, 0)
    assert model.temperature.acting
    inputs, samples = fake_batch()
    model.loss(inputs, samples)
    captured = model.last_roi_record
    hook.after_train_iter(runner, 0, outputs={})
    labels, ious, batch = seen[0]
    assert labels is captured.labels and ious is captured.ious
    n = captured.rois.size(0)
    assert labels.shape == ious.shape == (n, ) == batch['quality'].shape
    num_classes = model.roi_head.bbox_head.num_classes
    fg = labels < num_classes
    assert fg.any() and (~fg).any()
    assert torch.all(ious[fg] >= 0.5 - 1e-6) and torch.all(ious[~fg] == 0)
    # the RoI head orders each image's RoIs positives first
    per_image = [captured.rois[:, 0] == i for i in range(len(samples))]
    for mask in per_image:
        f = fg[mask].int()
        assert torch.all(f[:-1] >= f[1:])
    # quality from the targets: fg = IoU * p_t(label), bg = 0.5 * p_t(bg)
    assert torch.all(batch['quality'][~fg] <= 0.5 + 1e-6)
    # nothing of the recording is left on the RoI head
    assert 'loss_and_target' not in model.roi_head.bbox_head.__dict__
    assert not model.roi_head.bbox_head._forward_hooks
    assert not model.roi_head.bbox_roi_extractor._forward_pre_hooks


# -- the hook's schedule and reward bookkeeping (fake runner) ----------------------------
class _Hub:
    def __init__(self):
        self.scalars = {}

    def update_scalar(self, key, value):
        self.scalars.setdefault(key, []).append(value)


def test_hook_pays_each_batch_one_iteration_later_and_updates_on_schedule():
    from types import SimpleNamespace

    from ctkd_det.engine.hooks.rl_temperature_hook import RLTemperatureHook

    temp = _module()
    temp.train()
    runner = SimpleNamespace(model=SimpleNamespace(temperature=temp), epoch=0,
                             iter=0, message_hub=_Hub())
    hook = RLTemperatureHook(warmup_iters=1, update_interval=3, reward_scale=2.0,
                             reward_key='acc')
    hook.before_train(runner)
    paid, updates = [], []
    agent = temp.agent
    agent.add_batch = lambda b, r, f=agent.add_batch: (paid.append(r), f(b, r))
    agent.update = lambda f=agent.update: updates.append(runner.iter) or f()
    accs = [10.0, 12.0, 11.0, 15.0, 15.5, 14.0]
    for i, acc in enumerate(accs):
        runner.iter = i
        hook.before_train_iter(runner, i)
        assert temp.acting == (i >= 1)
        temp(torch.randn(8, 5), torch.randn(8, 5))
        hook.after_train_iter(runner, i, outputs=dict(acc=torch.tensor(acc)))
    # batch 1 (the first acted on) is paid at iteration 2: 2 * (11 - 12), ...
    assert paid == pytest.approx([2 * (11 - 12), 2 * (15 - 11), 2 * (15.5 - 15),
                                  2 * (14 - 15.5)])
    assert updates == [2, 5]  # (iter + 1) % 3 == 0
    assert temp.agent.num_updates == 2
    assert runner.message_hub.scalars['train/rl_acting'] == [0.] + [1.] * 5
    # a loss as reward: falling is good
    assert RLTemperatureHook(reward_key='loss_cls').reward_sign == -1.0
    with pytest.raises(KeyError, match='reward_key'):
        runner.iter = 6
        hook.before_train_iter(runner, 6)
        temp(torch.randn(8, 5), torch.randn(8, 5))
        hook.after_train_iter(runner, 6, outputs=dict(loss=torch.tensor(1.)))


def test_hook_warmup_by_epoch():
    from types import SimpleNamespace

    from ctkd_det.engine.hooks.rl_temperature_hook import RLTemperatureHook
    hook = RLTemperatureHook(warmup_epochs=2)
    assert not hook.acting_at(SimpleNamespace(epoch=1, iter=500))
    assert hook.acting_at(SimpleNamespace(epoch=2, iter=0))
    with pytest.raises(ValueError):
        RLTemperatureHook(update_interval=0)


def test_foreground_accuracy_reward():
    """reward_key='acc_fg': accuracy over the foreground RoIs only (background
    column last), paid as its change between iterations; no fg RoIs, no reward."""
    from types import SimpleNamespace

    from ctkd_det.engine.hooks.rl_temperature_hook import (RLTemperatureHook,
                                                           foreground_counts)
    # 3 classes + background (index 3); rows 0-3 foreground, 4-5 background
    labels = torch.tensor([0, 1, 2, 2, 3, 3])
    scores = torch.full((6, 4), -5.0)
    for row, cls in enumerate([0, 2, 2, 1, 3, 0]):  # fg: right, wrong, right, wrong
        scores[row, cls] = 5.0
    assert foreground_counts(scores, labels).tolist() == [2.0, 4.0]
    assert foreground_counts(scores[4:], labels[4:]).tolist() == [0.0, 0.0]

    with pytest.raises(ValueError, match='capture_roi_targets'):
        RLTemperatureHook(reward_key='acc_fg', capture_roi_targets=False)
    temp = _module()
    temp.train()
    model = SimpleNamespace(temperature=temp, last_roi_record=None)
    runner = SimpleNamespace(model=model, epoch=0, iter=0, message_hub=_Hub())
    hook = RLTemperatureHook(warmup_iters=0, update_interval=100,
                             reward_key='acc_fg')
    hook.before_train(runner)
    paid = []
    agent = temp.agent
    agent.add_batch = lambda b, r, f=agent.add_batch: (paid.append(r), f(b, r))

    def record(correct, total):
        """The detector's RoI record with `correct` of `total` foreground RoIs
        classified right, plus one background RoI."""
        labels = torch.tensor([0] * total + [3])
        winners = [0] * correct + [1] * (total - correct) + [3]
        return RoIRecord(cls_score=F.one_hot(torch.tensor(winners), 4) * 5.0,
                         labels=labels)

    # per iteration: (correct, total) foreground RoIs of the recorded RoIs
    # (None: no record); the overall `acc` of the outputs must be ignored
    counts = [(5, 10), (6, 10), None, (3, 4), (1, 4)]
    for i, c in enumerate(counts):
        runner.iter = i
        hook.before_train_iter(runner, i)
        temp(torch.randn(8, 5), torch.randn(8, 5))
        model.last_roi_record = None if c is None else record(*c)
        hook.after_train_iter(runner, i, outputs=dict(acc=torch.tensor(99.)))
    # 50 -> 60: +10; iteration 2 has no foreground: batch 1 unpaid, batch 2
    # unpaid (no previous metric); 75 -> 25: -50
    assert paid == pytest.approx([10.0, -50.0])
