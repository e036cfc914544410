"""RLKD agent: state features, log-probabilities, advantages (GAE over iterations),
PPO clipping, the bounded sigma, reward calibration, PPO on toy bandits (and the
comparison with GAE along the RoI sequence), the RLTemperature module's contract,
checkpoint state and DDP (global statistics, the gradient of the union)."""
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
from ctkd_det.models.rl import (PPOAgent, RewardDecomposition,
                                clipped_surrogate, gaussian_log_prob,
                                instance_quality, instance_state,
                                iteration_gae, log_abs_det_jacobian,
                                temperature_log_prob)
from ctkd_det.models.temperature.bounds import squash, unsquash
from ctkd_det.models.temperature.rl_temperature import RLTemperature
from ctkd_det.registry import MODELS

from conftest import assert_nested_equal, free_port

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


# -- advantages: GAE over iterations ---------------------------------------------
def test_iteration_gae_matches_hand_computation():
    """3 iterations of 2, 1 and 3 RoIs, bootstrapped with the next iteration's
    mean value; every number below is worked out by hand from the definition
    A_bi = r_bi - V_bi + g (v_{b+1} + lam A_{b+1}) on per-RoI means."""
    r = torch.tensor([1.0, -1.0, 2.0, 0.0, 0.5, -0.5])
    v = torch.tensor([0.2, 0.4, 1.0, 0.1, 0.2, 0.3])
    g, lam, nxt = 0.9, 0.5, 0.6
    # iteration 2 (RoIs 3..5): m = mean(r - v) = (-0.1 + 0.3 - 0.8) / 3 = -0.2,
    # v = 0.2; F_2 = 0.9 * (0.6 + 0.5 * 0) = 0.54; A_2 = -0.2 + 0.54 = 0.34
    # iteration 1 (RoI 2): m = 1.0, v = 1.0; F_1 = 0.9 * (0.2 + 0.5 * 0.34)
    # = 0.333; A_1 = 1.333
    # iteration 0 (RoIs 0, 1): F_0 = 0.9 * (1.0 + 0.5 * 1.333) = 1.49985
    f0, f1, f2 = 1.49985, 0.333, 0.54
    expected = [0.8 + f0, -1.4 + f0, 1.0 + f1, -0.1 + f2, 0.3 + f2, -0.8 + f2]
    adv, ret = iteration_gae(r, v, [2, 1, 3], g, lam, next_value=nxt)
    assert adv.tolist() == pytest.approx(expected, abs=1e-6)
    assert ret.tolist() == pytest.approx(
        [a + b for a, b in zip(expected, v.tolist())], abs=1e-6)
    # the order of the RoIs within an iteration does not matter
    perm = torch.tensor([1, 0, 2, 5, 3, 4])
    adv_p, _ = iteration_gae(r[perm], v[perm], [2, 1, 3], g, lam, next_value=nxt)
    assert adv_p.tolist() == pytest.approx([expected[i] for i in perm], abs=1e-6)
    # no bootstrap given: the last iteration's mean value (0.2) instead of 0.6
    adv_nb, _ = iteration_gae(r, v, [2, 1, 3], g, lam)
    assert adv_nb[5].item() == pytest.approx(-0.8 + 0.9 * 0.2, abs=1e-6)
    # gamma = 0: the one-step advantage r - V of every RoI
    adv0, ret0 = iteration_gae(r, v, [2, 1, 3], 0.0, 0.95, next_value=nxt)
    assert adv0.tolist() == pytest.approx((r - v).tolist(), abs=1e-6)
    assert ret0.tolist() == pytest.approx(r.tolist(), abs=1e-6)
    # an empty iteration is skipped: its successor follows its predecessor
    adv_e, _ = iteration_gae(r, v, [2, 0, 1, 3], g, lam, next_value=nxt)
    assert adv_e.tolist() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match='sizes'):
        iteration_gae(r, v, [2, 2], g, lam)


# -- PPO clipping -----------------------------------------------------------------
def test_clipped_surrogate_on_hand_made_ratios():
    """min(rho A, clip(rho) A), clip 0.2; expectations written out by hand."""
    rho = torch.tensor([1.5, 0.5, 1.5, 0.5, 1.1, 1.0, 1.2001, 0.7999],
                       dtype=torch.float64)
    a = torch.tensor([2.0, -1.0, -2.0, 1.0, 3.0, -1.0, 1.0, -1.0],
                     dtype=torch.float64)
    log_ratio = rho.log().requires_grad_(True)
    surr, clipped = clipped_surrogate(log_ratio, a, 0.2)
    # rho 1.5, A > 0: 1.2 * 2; rho 0.5, A < 0: 0.8 * -1 (clipped, constant);
    # rho 1.5, A < 0: 1.5 * -2; rho 0.5, A > 0: 0.5 * 1 (not clipped: the
    # pessimistic side); rho 1.1: 3.3; rho 1: -1; 1.2001 / 0.7999: clipped
    assert surr.tolist() == pytest.approx(
        [2.4, -0.8, -3.0, 0.5, 3.3, -1.0, 1.2, 0.8 * -1], abs=1e-9)
    assert clipped.tolist() == [True, True, True, True, False, False, True, True]
    surr.sum().backward()
    # d(rho A)/d log rho = rho A where the objective is not clipped, else 0
    assert log_ratio.grad.tolist() == pytest.approx(
        [0.0, 0.0, -3.0, 0.5, 3.3, -1.0, 0.0, 0.0], abs=1e-9)


def _clip_case(ratios, advantages, clip_ratio=0.2, sgd_lr=0.0):
    """A PPOAgent and one update (1 epoch, 1 minibatch, no value/entropy
    terms, no advantage normalisation effect: the advantages are given already
    standardised) on transitions whose ratios pi/pi_old are ``ratios``."""
    torch.manual_seed(0)
    agent = PPOAgent(hidden_dims=(8, ), init_temperature=4.0, log_std_init=-0.5,
                     clip_ratio=clip_ratio, ppo_epochs=1, num_minibatches=1,
                     value_coef=0.0, entropy_coef=0.0, max_grad_norm=None,
                     optimizer=dict(type='SGD', lr=sgd_lr))
    n = len(ratios)
    states = torch.rand(n, 3)
    u = torch.linspace(-1.5, -0.5, n)
    mu = math.log(3 / 17)       # unsquash(4) for [1, 21]
    sigma = math.exp(-0.5)
    logp_now = Normal(torch.full((n, ), mu), sigma).log_prob(u)
    old = logp_now - torch.tensor(ratios).log()
    adv = torch.tensor(advantages)
    stats = agent.update(states, u, old, adv, torch.zeros(n))
    return agent, stats, (u, mu, sigma)


def _standardised(x):
    x = torch.tensor(x, dtype=torch.float64)
    return ((x - x.mean()) / x.std()).tolist()


def test_ppo_update_zero_gradient_once_ratio_leaves_the_clip_range():
    """Every transition's ratio lies outside 1 +- 0.2 on its advantage's side:
    the surrogate is flat, so the update's gradient is exactly 0 (no value /
    entropy terms). With clipping disabled (or ignored) it is not."""
    adv = _standardised([2.0, 1.0, -1.0, -2.0])
    ratios = [1.5, 1.3, 0.6, 0.7]  # up for A > 0, down for A < 0
    agent, stats, _ = _clip_case(ratios, adv)
    for p in agent.net.parameters():
        assert p.grad is not None and torch.all(p.grad == 0)
    assert stats['clip_fraction'] == 1.0
    loose, _, _ = _clip_case(ratios, adv, clip_ratio=1e9)
    assert loose.net.actor[-1].bias.grad.abs().item() > 1e-3


def test_ppo_update_gradient_and_clip_fraction_on_hand_made_ratios():
    """Mixed ratios: the gradient w.r.t. the actor's output bias (= d/d mu of
    the mean loss) counts only the unclipped transitions:
    -(1/n) sum rho_i A_i (u_i - mu) / sigma^2, computed here by hand."""
    adv = _standardised([1.0, 2.0, -1.0, -2.0, 0.5])
    ratios = [1.5, 0.5, 1.5, 0.6, 1.1]
    # clipped & flat: (1.5, A > 0) and (0.6, A < 0); active: the other three
    agent, stats, (u, mu, sigma) = _clip_case(ratios, adv)
    active = [1, 2, 4]
    expected = -sum(ratios[i] * adv[i] * (u[i].item() - mu) / sigma ** 2
                    for i in active) / len(ratios)
    assert agent.net.actor[-1].bias.grad.item() == pytest.approx(expected,
                                                                 rel=1e-4)
    # |rho - 1| > 0.2: 1.5, 0.5, 1.5, 0.6 -> 4 of 5
    assert stats['clip_fraction'] == pytest.approx(0.8)
    # the first (only) step starts at the behaviour log-probs given: the
    # policy loss is -mean(min(rho A, clip(rho) A))
    surr = [min(r * a, min(max(r, 0.8), 1.2) * a) for r, a in zip(ratios, adv)]
    assert stats['policy_loss'] == pytest.approx(-sum(surr) / 5, rel=1e-5)


# -- the bounded sigma -------------------------------------------------------------
def test_sigma_is_bounded_smoothly_with_a_gradient_everywhere():
    agent = PPOAgent(log_std_init=-0.5, log_std_bounds=(-5.0, 1.0))
    assert agent.log_std().item() == pytest.approx(-0.5, abs=1e-6)
    for raw in (0.0, 8.0, -8.0):  # the middle, near the upper / lower bound
        sig = 1 / (1 + math.exp(-raw))
        expected = -5.0 + 6.0 * sig
        with torch.no_grad():
            agent.net.raw_log_std.fill_(raw)
        agent.net.raw_log_std.grad = None
        log_std = agent.log_std()
        assert -5.0 <= log_std.item() <= 1.0
        assert log_std.item() == pytest.approx(expected, abs=1e-6)
        # the entropy bonus' gradient reaches the parameter even at a bound
        _, _, entropy = agent.evaluate(torch.rand(4, 3), torch.zeros(4))
        entropy.sum().backward()
        # d log_std / d raw = 6 sigmoid'(raw): 1.5 at 0, 2e-3 at +-8 (a
        # clamp would give 0 beyond its bound, for good)
        assert agent.net.raw_log_std.grad.item() == pytest.approx(
            4 * 6 * sig * (1 - sig), rel=1e-4)
        assert agent.net.raw_log_std.grad.item() > 0
    with pytest.raises(ValueError, match='log_std_init'):
        PPOAgent(log_std_init=1.0, log_std_bounds=(-5.0, 1.0))


# -- reward calibration --------------------------------------------------------
def test_reward_redistribution_sums_to_batch_return():
    torch.manual_seed(0)
    dec = RewardDecomposition(steps=5)
    cases = [(1, 0.7), (7, -3.0), (128, 12.5), (513, -0.01)]
    batches = [(torch.rand(n, 3), torch.randn(n), ret) for n, ret in cases]
    # untrained model (g = 0): the uniform split R / N
    for (s, a, ret), r in zip(batches, dec.redistribute(batches)):
        assert r.shape == (s.size(0), )
        assert r.tolist() == pytest.approx([ret / s.size(0)] * s.size(0))
    dec.fit(batches)  # a trained (non-zero) model: still exact sums
    new = [(torch.rand(n, 3), torch.randn(n), ret) for n, ret in [(3, 2.0),
                                                                  (300, -4.0)]]
    for (_, _, ret), r in zip(new, dec.redistribute(new)):
        assert r.std() > 0
        assert r.double().sum().item() == pytest.approx(ret, rel=1e-5, abs=1e-6)


def test_reward_model_fits_every_batch_it_redistributes():
    """A FIFO of 2 batches and a rollout of 5: the fit still covers all 5. With
    one SGD step from g = 0 the returned loss (before the step) is the mean of
    R_b^2 over the fitted batches: (1 + 4 + 9 + 16 + 25) / 5 = 11 (the last
    two alone would give 20.5)."""
    dec = RewardDecomposition(buffer_size=2, steps=1,
                              optimizer=dict(type='SGD', lr=0.0))
    batches = [(torch.rand(4, 3), torch.randn(4), float(r)) for r in range(1, 6)]
    assert dec.fit(batches) == pytest.approx(11.0)
    assert len(dec.buffer) == 2
    # next fit: the FIFO's last two (R = 4, 5) and the new batch (R = 6) fill
    # max(buffer_size, 1) = 2 batches: R = 5 and 6 -> (25 + 36) / 2
    assert dec.fit([(torch.rand(4, 3), torch.randn(4), 6.0)]) == \
        pytest.approx(30.5)
    # a FIFO larger than the rollout adds earlier batches to the fit
    big = RewardDecomposition(buffer_size=4, steps=1,
                              optimizer=dict(type='SGD', lr=0.0))
    big.fit(batches[:3])                       # R = 1, 2, 3
    assert big.fit(batches[3:4]) == pytest.approx((1 + 4 + 9 + 16) / 4)


def test_reward_decomposition_learns_instance_credit():
    """Batch returns made of a hidden per-instance reward (+1 if the first state
    feature > 0.5 else -1): the fitted model credits the right instances."""
    torch.manual_seed(0)
    dec = RewardDecomposition(steps=150, buffer_size=16,
                              optimizer=dict(type='Adam', lr=1e-2))
    batches, truths = [], []
    for _ in range(16):
        s, a = torch.rand(32, 3), torch.randn(32)
        true = torch.where(s[:, 0] > 0.5, 1.0, -1.0)
        batches.append((s, a, float(true.sum())))
        truths.append(true)
    initial = sum(float(t.sum()) ** 2 for t in truths) / len(truths)  # g = 0
    assert dec.fit(batches) < 0.3 * initial
    r = dec.redistribute(batches[:1])[0]
    assert torch.corrcoef(torch.stack([r, truths[0]]))[0, 1] > 0.8


# -- PPO on toy bandits with a known best temperature --------------------------
def _roi_sequence_gae(rewards, values, last_value, gamma, lam):
    """The former scheme, kept only for the comparison below: GAE along the
    RoIs of a rollout in the order they were acted on (every RoI's advantage
    mixes the rewards of the ~1 / (1 - gamma lam) RoIs after it)."""
    adv = torch.zeros(rewards.numel(), dtype=torch.float64)
    running, next_value = 0.0, float(last_value)
    for i in range(rewards.numel() - 1, -1, -1):
        delta = float(rewards[i]) + gamma * next_value - float(values[i])
        running = delta + gamma * lam * running
        adv[i] = running
        next_value = float(values[i])
    return adv.float(), (adv + values.double()).float()


def _toy_run(scheme, seed, updates=10, iters=8, n=64, lr=1e-3):
    """A contextual bandit shaped like RLKD: rollouts of ``iters`` iterations of
    ``n`` RoIs, best temperature 3 + 6 * s_0 (state-dependent), each RoI paid
    -(T - T*)^2 / 10 (a perfect reward decomposition). Returns the mean
    |mu(s) - T*(s)| of the policy's mean temperature on fixed test states after
    each update."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    agent = PPOAgent(hidden_dims=(64, 64), init_temperature=6.0,
                     entropy_coef=0.0, optimizer=dict(type='Adam', lr=lr))
    test = torch.rand(512, 3, generator=torch.Generator().manual_seed(999))
    errors = []
    for _ in range(updates):
        rows = []
        for _ in range(iters + 1):  # the last one only bootstraps
            s = torch.rand(n, 3, generator=gen)
            out = agent.act(s)
            r = -(out['temperature'] - (3 + 6 * s[:, 0])) ** 2 / 10
            rows.append((s, out['action'], out['log_prob'], out['value'], r))
        next_values = rows.pop()[3]
        s, u, logp, v, r = (torch.cat(x) for x in zip(*rows))
        if scheme == 'roi-sequence':
            adv, ret = _roi_sequence_gae(r, v, v[-1], 0.99, 0.95)
        else:
            gamma = 0.99 if scheme == 'iterations' else 0.0
            adv, ret = iteration_gae(r, v, [n] * iters, gamma, 0.95,
                                     next_value=float(next_values.mean()))
        agent.update(s, u, logp, adv, ret, generator=gen)
        mean_t = agent.act(test, deterministic=True)['temperature']
        errors.append(float((mean_t - (3 + 6 * test[:, 0])).abs().mean()))
    return errors


def test_gae_over_iterations_learns_faster_than_gae_along_the_roi_sequence():
    """The toy problem of the advantage scheme (γ .99, λ .95 for both): the
    policy's error after each of 10 updates, averaged over 4 seeds. The error
    starts at 1.5 (T = 6 everywhere)."""
    curves = {}
    for scheme in ('roi-sequence', 'iterations', 'one-step'):
        runs = [_toy_run(scheme, seed) for seed in range(4)]
        curves[scheme] = [sum(x) / len(x) for x in zip(*runs)]
        print(scheme, ' '.join(f'{e:.2f}' for e in curves[scheme]))
    auc = {k: sum(v) / len(v) for k, v in curves.items()}
    print('mean error over the 10 updates:', auc)
    assert auc['iterations'] < 0.85 * auc['roi-sequence']
    assert auc['one-step'] < 0.85 * auc['roi-sequence']
    # after 6 updates the new scheme is well ahead
    assert curves['iterations'][5] < 0.8 * curves['roi-sequence'][5]
    assert curves['iterations'][-1] < 0.7  # and it did learn


def test_ppo_moves_temperature_toward_best_on_bandit():
    """One iteration per update, every state's best T = 6."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    agent = PPOAgent(init_temperature=4.0, entropy_coef=0.0,
                     optimizer=dict(type='Adam', lr=3e-3))
    rewards, means = [], []
    for _ in range(16):
        s = torch.rand(256, 3, generator=gen)
        out = agent.act(s)
        r = -(out['temperature'] - 6.0) ** 2     # best T = 6 in [1, 21]
        rewards.append(r.mean().item())
        means.append(agent.act(s, deterministic=True)['temperature'].mean().item())
        adv, ret = iteration_gae(r, out['value'], [256], agent.gamma,
                                 agent.gae_lambda)
        agent.update(s, out['action'], out['log_prob'], adv, ret, generator=gen)
    assert means[0] == pytest.approx(4.0, abs=1e-4)
    assert abs(means[-1] - 6.0) < 0.6 and abs(means[-1] - 6.0) < abs(means[0] - 6.0) / 3
    assert sum(rewards[-4:]) / 4 > 0.5 * sum(rewards[:2]) / 2  # less negative
    assert agent.num_updates == 16


def test_ppo_exploration_pool_restricts_learning():
    """Only the pooled transitions enter the losses: a pool of instances whose
    rewards favour T = 6 pulls the mean there even though the rest favour 2."""
    torch.manual_seed(0)
    agent = PPOAgent(init_temperature=4.0, entropy_coef=0.0,
                     optimizer=dict(type='Adam', lr=3e-3))
    s = torch.zeros(256, 3)
    for _ in range(8):
        out = agent.act(s)
        t = out['temperature']
        r = torch.cat([-(t[:64] - 6.0) ** 2, -(t[64:] - 2.0) ** 2])
        adv, ret = iteration_gae(r, out['value'], [256], 0.0, 0.95)
        agent.update(s, out['action'], out['log_prob'], adv, ret,
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
    assert set(batch) == {'states', 'actions', 'log_probs', 'values', 'quality',
                          'version'}
    assert batch['version'] == 0  # acted on before any PPO update
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


def _acted_batch(agent, n, seed, version=None):
    """``n`` transitions acted on by ``agent``'s policy (own random stream)."""
    g = torch.Generator().manual_seed(seed)
    states = torch.rand(n, 3, generator=g)
    quality = torch.rand(n, generator=g)
    devrng = torch.get_rng_state()
    torch.manual_seed(seed)
    out = agent.act(states)
    torch.set_rng_state(devrng)
    return dict(states=states, actions=out['action'], log_probs=out['log_prob'],
                values=out['value'], quality=quality,
                version=agent.num_updates if version is None else version)


def test_agent_update_values_by_hand():
    """One update with an untrained, frozen reward model (uniform split R / N),
    one epoch of one minibatch with plain SGD, GAE over the 2 iterations
    (gamma .9, lambda .5, bootstrapped with the last one's mean value): the
    logged statistics and the actor's step, worked out without the agent."""
    from ctkd_det.models.rl import RLKDAgent
    torch.manual_seed(0)
    lr, g, lam = 0.1, 0.9, 0.5
    agent = RLKDAgent(
        t_min=1.0, t_max=21.0, init_temperature=4.0, hidden_dims=(16, 16),
        log_std_init=-0.5,
        ppo=dict(gamma=g, gae_lambda=lam, ppo_epochs=1, num_minibatches=1,
                 max_grad_norm=None, entropy_coef=0.0,
                 optimizer=dict(type='SGD', lr=lr)),
        decomposition=dict(steps=1, optimizer=dict(type='SGD', lr=0.0)),
        exploration=dict(start_fraction=0.5, updates=4))
    batches = [_acted_batch(agent, n, seed) for n, seed in ((10, 1), (6, 2))]
    returns = [3.0, -1.5]
    for b, r in zip(batches, returns):
        agent.add_batch(b, r)
    mu0 = agent.ppo.net.actor[-1].bias.item()
    stats = agent.update()

    assert stats['decomposition_loss'] == pytest.approx((9.0 + 2.25) / 2)
    assert stats['stale_batches'] == 0 and agent.num_updates == 1
    v0, v1 = (b['values'].double() for b in batches)
    r0, r1 = 3.0 / 10, -1.5 / 6                  # uniform split
    f1 = g * float(v1.mean())                   # bootstrap: own mean value
    a1 = r1 - float(v1.mean()) + f1             # iteration 1's mean advantage
    f0 = g * (float(v1.mean()) + lam * a1)
    adv = torch.cat([r0 - v0 + f0, r1 - v1 + f1])
    ret = adv + torch.cat([v0, v1])
    u = torch.cat([b['actions'] for b in batches]).double()
    q = torch.cat([b['quality'] for b in batches])
    pool = q.topk(8).indices                 # the best half of 16
    a = adv[pool]
    a_hat = (a - a.mean()) / a.std()
    assert stats['advantage_pool'] == 8
    assert stats['return_mean'] == pytest.approx(float(ret.mean()), rel=1e-5)
    assert stats['value_loss'] == pytest.approx(float(0.5 * (a ** 2).mean()),
                                                rel=1e-5)
    assert stats['policy_loss'] == pytest.approx(0.0, abs=1e-6)  # ratio 1
    assert stats['clip_fraction'] == 0.0
    assert stats['entropy'] == pytest.approx(0.5 + 0.5 * math.log(2 * math.pi)
                                             - 0.5, abs=1e-6)
    # the actor's output bias moves by lr * mean(A_hat (u - mu) / sigma^2)
    sigma2 = math.exp(-1.0)
    step = lr * float((a_hat * (u[pool] - mu0)).mean()) / sigma2
    assert agent.ppo.net.actor[-1].bias.item() - mu0 == pytest.approx(step,
                                                                      rel=1e-4)


def test_agent_leaves_batches_of_an_older_policy_out_of_ppo():
    """The batch acted on in an update's own iteration is paid after that
    update: the next update fits the reward model on it but leaves it out of
    PPO, and bootstraps with the batch after the rollout."""
    from ctkd_det.models.rl import RLKDAgent
    torch.manual_seed(0)
    agent = RLKDAgent(t_min=1.0, t_max=21.0, init_temperature=4.0,
                      hidden_dims=(16, 16), exploration=dict(updates=0))
    first = _acted_batch(agent, 12, 1)
    leftover = _acted_batch(agent, 7, 2)       # acted on before the update
    agent.add_batch(first, 1.0)
    assert agent.update(next_batch=leftover)['stale_batches'] == 0
    agent.add_batch(leftover, -1.0)             # paid after the update
    fresh = _acted_batch(agent, 9, 3)
    agent.add_batch(fresh, 2.0)
    stats = agent.update(next_batch=_acted_batch(agent, 5, 4))
    assert stats['stale_batches'] == 1
    assert stats['advantage_pool'] == 9         # only the fresh batch's RoIs
    assert len(agent.decomposer.buffer) == 3    # ... but all three fitted
    assert agent.num_updates == 2
    # a rollout of stale batches only: the reward model learns, PPO waits
    agent.add_batch(fresh, 0.5)
    stats = agent.update()
    assert stats['stale_batches'] == 1 and 'policy_loss' not in stats
    assert agent.num_updates == 2 and len(agent.decomposer.buffer) == 4


def test_agent_state_versions():
    """Version 2 round trip; version 1 (log sigma stored directly, clamped)
    migrates to the same sigma; anything else is refused clearly."""
    from ctkd_det.models.rl import RLKDAgent

    def build():
        torch.manual_seed(0)
        return RLKDAgent(t_min=1.0, t_max=21.0, init_temperature=4.0,
                         hidden_dims=(16, 16))
    agent = build()
    agent.add_batch(_acted_batch(agent, 8, 1), 1.0)
    agent.update()
    state = agent.checkpoint_state()
    assert state['version'] == 2
    old = dict(state, version=1, agent=dict(state['agent']))
    net = dict(old['agent']['net'])
    net.pop('raw_log_std')
    net['log_std'] = torch.tensor([-1.25])
    old['agent']['net'] = net
    migrated = build()
    migrated.load_checkpoint_state(old)
    assert migrated.ppo.log_std().item() == pytest.approx(-1.25, abs=1e-5)
    assert torch.equal(migrated.ppo.net.actor[0].weight,
                       agent.ppo.net.actor[0].weight)
    n_params = len(list(migrated.ppo.net.parameters()))
    assert set(migrated.ppo.optimizer.state_dict()['state']) == \
        set(range(n_params - 1))  # the moments of log sigma start afresh
    # a version-1 log sigma beyond the bounds: the nearest bound (the clamp's)
    net['log_std'] = torch.tensor([3.0])
    migrated.load_checkpoint_state(old)
    assert migrated.ppo.log_std().item() == pytest.approx(1.0, abs=1e-4)
    for bad in (dict(state, version=3), {k: v for k, v in state.items()
                                         if k != 'version'}):
        with pytest.raises(ValueError, match='version'):
            build().load_checkpoint_state(bad)


# -- DDP: two gloo processes ---------------------------------------------------
def _run_workers(worker, tmp_path, world=2):
    port = free_port()
    # fork: no re-import of torch/mmdet in the children (seconds, not tens)
    ctx = torch.multiprocessing.start_processes(
        worker, args=(world, port, str(tmp_path)), nprocs=world, join=False,
        start_method='fork')
    deadline = time.monotonic() + 120
    while not ctx.join(timeout=1):  # raises if a worker failed
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail('DDP workers did not finish within 120 s')
    return [torch.load(tmp_path / f'rank{r}.pth') for r in range(world)]


def _init_group(rank, world, port):
    import torch.distributed as tdist
    torch.set_num_threads(1)
    tdist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                             rank=rank, world_size=world)


def _ddp_worker(rank, world, port, out_dir):
    import torch.distributed as tdist
    _init_group(rank, world, port)
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
            agent.add_batch(agent.end_step(), ret)
        agent.update()
        torch.save(agent.checkpoint_state(),
                   os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        tdist.destroy_process_group()


def test_ddp_ranks_end_with_identical_agents(tmp_path):
    a, b = _run_workers(_ddp_worker, tmp_path)
    for part in ('agent', 'decomposer'):
        for k, v in a[part]['net'].items():
            assert torch.equal(v, b[part]['net'][k]), (part, k)
    assert a['agent']['num_updates'] == b['agent']['num_updates'] == 1


# The union test: each rank holds its own RoIs of 3 global batches (different
# counts per rank and batch) plus the batch after them; one process holds the
# union. Plain SGD, one PPO step, two reward-model steps, an exploration focus
# of half the RoIs, GAE over iterations: every global statistic matters.
_UNION_RETURNS = (2.0, -1.0, 0.5)


def _union_agent():
    from ctkd_det.models.rl import RLKDAgent
    torch.manual_seed(0)
    return RLKDAgent(
        t_min=1.0, t_max=21.0, init_temperature=4.0, hidden_dims=(16, 16),
        ppo=dict(ppo_epochs=1, num_minibatches=1, max_grad_norm=None,
                 entropy_coef=1e-2, optimizer=dict(type='SGD', lr=0.05)),
        decomposition=dict(hidden_dims=(8, ), steps=2, max_grad_norm=None,
                           optimizer=dict(type='SGD', lr=0.01)),
        exploration=dict(start_fraction=0.5, updates=4))


def _union_part(agent, b, rank):
    """Rank ``rank``'s RoIs of global batch ``b`` (rank 1's of lower quality:
    the global top half is not each rank's top half)."""
    part = _acted_batch(agent, (9, 14)[rank] + 3 * b, 100 + 10 * b + rank)
    return dict(part, quality=part['quality'] * (1.0, 0.6)[rank])


def _union_result(agent, stats):
    return dict(
        stats=stats,
        grads={f'ppo.{k}': p.grad.clone()
               for k, p in agent.ppo.net.named_parameters()} |
        {f'dec.{k}': p.grad.clone()
         for k, p in agent.decomposer.net.named_parameters()},
        weights=agent.checkpoint_state())


def _union_worker(rank, world, port, out_dir):
    import torch.distributed as tdist
    _init_group(rank, world, port)
    try:
        agent = _union_agent()
        for b, ret in enumerate(_UNION_RETURNS):
            agent.add_batch(_union_part(agent, b, rank), ret)
        stats = agent.update(next_batch=_union_part(agent, 3, rank))
        torch.save(_union_result(agent, stats),
                   os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        tdist.destroy_process_group()


def test_ddp_update_equals_single_process_on_the_union(tmp_path):
    """The averaged gradients of the 2-rank update (reward model and PPO) are
    the gradients one process computes on the union of the ranks' RoIs; so
    are the weights and the logged statistics (normalisation, exploration
    top-k, per-iteration means: all over the global batch)."""
    ranks = _run_workers(_union_worker, tmp_path)
    agent = _union_agent()

    def union(b):
        parts = [_union_part(agent, b, r) for r in (0, 1)]
        out = {k: torch.cat([p[k] for p in parts]) for k in parts[0]
               if k != 'version'}
        return dict(out, version=0)
    for b, ret in enumerate(_UNION_RETURNS):
        agent.add_batch(union(b), ret)
    single = _union_result(agent, agent.update(next_batch=union(3)))

    for rank in ranks:
        for k, g in single['grads'].items():
            # the check is not vacuous (the actor's hidden layers get no
            # gradient through its zero-initialised output layer)
            if not k.startswith(('ppo.actor.0', 'ppo.actor.2')):
                assert g.abs().max() > 0, k
            assert torch.allclose(rank['grads'][k], g, rtol=1e-4,
                                  atol=1e-7), k
        for part in ('agent', 'decomposer'):
            for k, w in single['weights'][part]['net'].items():
                assert torch.allclose(rank['weights'][part]['net'][k], w,
                                      rtol=1e-5, atol=1e-7), (part, k)
        for k in ('decomposition_loss', 'advantage_pool', 'policy_loss',
                  'value_loss', 'clip_fraction', 'return_mean',
                  'batch_return'):
            assert rank['stats'][k] == pytest.approx(single['stats'][k],
                                                     rel=1e-4, abs=1e-6), k
    assert single['stats']['advantage_pool'] == math.ceil(
        0.5 * sum(23 + 6 * b for b in range(3)))


def _resume_worker(rank, world, port, out_dir):
    """Two ranks, each with its own RoIs: the hook gathers every rank's
    transient state for rank 0's checkpoint; a resume gives each rank back its
    own rollout, FIFO, unpaid batch and last metric."""
    import torch.distributed as tdist
    from types import SimpleNamespace

    from ctkd_det.engine.hooks.rl_temperature_hook import RLTemperatureHook
    _init_group(rank, world, port)
    try:
        def build():
            torch.manual_seed(0)
            temp = RLTemperature(exploration=dict(updates=0))
            temp.train()
            hook = RLTemperatureHook(warmup_iters=0, update_interval=2,
                                     reward_key='acc')
            runner = SimpleNamespace(model=SimpleNamespace(temperature=temp),
                                     epoch=0, iter=0, message_hub=_Hub(),
                                     hooks=[], _resume=True)
            hook.before_train(runner)
            return temp, hook, runner
        temp, hook, runner = build()
        torch.manual_seed(10 + rank)
        for i, acc in enumerate([10.0, 12.0, 11.0, 13.0, 12.5]):
            runner.iter = i
            hook.before_train_iter(runner, i)
            n = 6 + 4 * rank + i
            temp(torch.randn(n, 5), torch.randn(n, 5))
            hook.after_train_iter(runner, i, outputs=dict(
                acc=torch.tensor(acc + rank)))  # mean over the ranks: acc + .5
        hook.after_train_epoch(runner)
        mine = hook._rank_state(runner)
        path = os.path.join(out_dir, 'ckpt.pth')
        if rank == 0:
            ckpt = {}
            hook.before_save_checkpoint(runner, ckpt)
            torch.save(ckpt, path)
        tdist.barrier()
        ckpt = torch.load(path, weights_only=True)
        temp2, hook2, runner2 = build()
        hook2.after_load_checkpoint(runner2, ckpt)
        hook2.before_train(runner2)  # must keep what the resume restored
        torch.save(dict(mine=mine, restored=hook2._rank_state(runner2),
                        n_ranks=len(ckpt['rl_temperature']['ranks'])),
                   os.path.join(out_dir, f'rank{rank}.pth'))
    finally:
        tdist.destroy_process_group()


def test_ddp_checkpoint_holds_and_resume_restores_every_ranks_rollout(tmp_path):
    ranks = _run_workers(_resume_worker, tmp_path)
    for rank, r in enumerate(ranks):
        assert r['n_ranks'] == 2
        assert_nested_equal(r['mine'], r['restored'])
        # after the update at iteration 3: batch 3 (stale) in the rollout, the
        # FIFO holds batches 0-2, batch 4 awaits its reward
        rollout = r['mine']['agent']['rollout']
        assert [b['version'] for b in rollout] == [1]
        assert rollout[0]['states'].size(0) == 6 + 4 * rank + 3
        assert len(r['mine']['agent']['buffer']) == 3
        assert r['mine']['awaiting']['states'].size(0) == 6 + 4 * rank + 4
        assert r['mine']['last_metric'] == pytest.approx(12.5 + 0.5)
    # the ranks' states are their own
    assert not torch.equal(ranks[0]['mine']['awaiting']['states'][:6],
                           ranks[1]['mine']['awaiting']['states'][:6])


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
    nexts = []

    def update(next_batch=None, f=agent.update):
        updates.append(runner.iter)
        nexts.append((next_batch, hook._awaiting, agent.num_updates))
        return f(next_batch=next_batch)

    agent.update = update
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
    # the update bootstraps with the batch of its own iteration (unpaid, acted
    # on by the policy being updated)
    for next_batch, awaiting, version in nexts:
        assert next_batch is awaiting and next_batch['version'] == version
    # batch 2, acted on in the first update's iteration, reaches the second
    # rollout from the older policy: reward model only, not PPO (batches 3, 4)
    hub = runner.message_hub.scalars
    assert hub['train/rl_stale_batches'] == [0.0, 1.0]
    # exploration focus (start 0.25, + 0.75 / 20 per update) of 8 and 16 RoIs
    assert hub['train/rl_advantage_pool'] == [
        math.ceil(0.25 * 8), math.ceil((0.25 + 0.75 / 20) * 16)]
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
