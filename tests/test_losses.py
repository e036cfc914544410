"""Detection KD losses: DKD and fg/bg-decoupled KD — values, gradients, errors."""
import math

import numpy as np
import pytest
import torch

import ctkd_det  # noqa: F401  (registers modules)
from ctkd_det.models import DKDLoss, GlobalTemperature, KDLoss
from ctkd_det.registry import MODELS


def _logits(n=6, k=5, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) * scale,
            torch.randn(n, k, generator=g, dtype=torch.float64) * scale)


# labels for 6 RoIs over k = 5 columns (4 classes + background = 4): two
# background RoIs, and the target column is first, middle and second-to-last
LABELS = torch.tensor([0, 4, 2, 3, 4, 1])
TEMPS = torch.tensor([[1.], [2.], [0.5], [4.], [3.], [1.5]], dtype=torch.float64)


def _np_softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _np_kl(p, q):
    return float(sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q)))


def _hand_dkd(s, t, temps, labels, alpha, beta):
    """DKD written out row by row in float64 numpy."""
    s, t = s.numpy(), t.numpy()
    temps, labels = temps.numpy().reshape(-1), labels.numpy()
    total = 0.
    for i in range(s.shape[0]):
        T, y = float(temps[i]), int(labels[i])
        p_s, p_t = _np_softmax(s[i] / T), _np_softmax(t[i] / T)
        b_s, b_t = [p_s[y], 1 - p_s[y]], [p_t[y], 1 - p_t[y]]
        others = [j for j in range(s.shape[1]) if j != y]
        n_s = _np_softmax(np.array([s[i, j] / T for j in others]))
        n_t = _np_softmax(np.array([t[i, j] / T for j in others]))
        total += T * T * (alpha * _np_kl(b_t, b_s) + beta * _np_kl(n_t, n_s))
    return total / s.shape[0]


def _hand_kd_rows(s, t, temps):
    s, t, temps = s.numpy(), t.numpy(), temps.numpy().reshape(-1)
    return [float(temps[i]) ** 2 * _np_kl(_np_softmax(t[i] / temps[i]),
                                          _np_softmax(s[i] / temps[i]))
            for i in range(s.shape[0])]


# -- DKD ------------------------------------------------------------------------
@pytest.mark.parametrize('alpha,beta,weight', [(1.0, 0.25, 1.0), (0.5, 2.0, 3.0)])
def test_dkd_matches_float64_hand_computation_per_row_temperature(
        alpha, beta, weight):
    s, t = _logits()
    assert (LABELS == 4).sum() == 2  # background RoIs are covered
    expected = weight * _hand_dkd(s, t, TEMPS, LABELS, alpha, beta)
    loss = DKDLoss(alpha=alpha, beta=beta, loss_weight=weight)(s, t, TEMPS, LABELS)
    assert loss.dtype == torch.float64 and loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    # both parts are non-zero, so alpha and beta each matter
    tckd = _hand_dkd(s, t, TEMPS, LABELS, 1.0, 0.0)
    nckd = _hand_dkd(s, t, TEMPS, LABELS, 0.0, 1.0)
    assert tckd > 1e-3 and nckd > 1e-3
    # (N,) temperatures and a scalar temperature (float and 0-dim tensor)
    assert torch.equal(DKDLoss(alpha, beta, weight)(s, t, TEMPS.flatten(), LABELS),
                       loss)
    scalar = weight * _hand_dkd(s, t, torch.full((6, 1), 2.5), LABELS, alpha, beta)
    for temp in (2.5, torch.tensor(2.5, dtype=torch.float64)):
        assert DKDLoss(alpha, beta, weight)(s, t, temp, LABELS).item() == \
            pytest.approx(scalar, rel=1e-10)


def test_dkd_labels_choose_the_target_column():
    s, t = _logits()
    other = torch.tensor([4, 0, 1, 2, 3, 4])
    a = DKDLoss()(s, t, TEMPS, LABELS)
    b = DKDLoss()(s, t, TEMPS, other)
    assert b.item() == pytest.approx(_hand_dkd(s, t, TEMPS, other, 1.0, 0.25),
                                     rel=1e-10)
    assert abs(a.item() - b.item()) > 1e-3


@pytest.mark.parametrize('beta', [1.0, 0.25])
def test_dkd_with_one_class_equals_kd_loss(beta):
    """Two columns (1 class + background): n has one column (KL 0), b = p."""
    s, t = _logits(n=5, k=2)
    temps = torch.tensor([[1.], [2.], [3.], [0.7], [5.]], dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 1])
    s_dkd = s.clone().requires_grad_(True)
    s_kd = s.clone().requires_grad_(True)
    dkd = DKDLoss(alpha=1.0, beta=beta)(s_dkd, t, temps, labels)
    kd = KDLoss()(s_kd, t, temps)
    assert kd.item() > 1e-3
    assert dkd.item() == pytest.approx(kd.item(), rel=1e-12)
    dkd.backward()
    kd.backward()
    assert torch.allclose(s_dkd.grad, s_kd.grad, rtol=1e-10, atol=1e-14)
    # the non-target part alone is exactly zero
    assert DKDLoss(alpha=0.0, beta=1.0)(s, t, temps, labels).item() == \
        pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize('lam', [0.5, 1.0])
def test_dkd_reversal_gives_temperature_minus_lambda_dl_dt(lam):
    """θ.grad = −λ · ∂L/∂T · dT/dθ, ∂L/∂T from a central difference of DKD in T."""
    s, t = _logits()
    m = GlobalTemperature(init_value=-1.0).double()
    m.lambda_ = lam
    loss_fn = DKDLoss(alpha=1.0, beta=0.25)
    loss_fn(s, t, m(t, s), LABELS).backward()

    theta0 = m.theta.item()
    sig = 1 / (1 + math.exp(-theta0))
    T0 = 1 + 20 * sig
    eps = 1e-5
    dl_dt = (loss_fn(s, t, T0 + eps, LABELS).item() -
             loss_fn(s, t, T0 - eps, LABELS).item()) / (2 * eps)
    assert abs(dl_dt) > 1e-4  # not vacuous
    dt_dtheta = 20 * sig * (1 - sig)
    assert m.theta.grad.item() == pytest.approx(-lam * dl_dt * dt_dtheta,
                                                rel=1e-5)


def test_dkd_student_gradient_matches_finite_difference():
    s, t = _logits(n=3, k=4, seed=1)
    labels = torch.tensor([3, 0, 2])
    temps = torch.tensor([[1.5], [1.0], [2.5]], dtype=torch.float64)
    loss_fn = DKDLoss(alpha=0.7, beta=1.3)
    s_ = s.clone().requires_grad_(True)
    loss_fn(s_, t, temps, labels).backward()
    fd = torch.zeros_like(s)
    eps = 1e-6
    for i in range(s.size(0)):
        for j in range(s.size(1)):
            up, down = s.clone(), s.clone()
            up[i, j] += eps
            down[i, j] -= eps
            fd[i, j] = (loss_fn(up, t, temps, labels) -
                        loss_fn(down, t, temps, labels)) / (2 * eps)
    assert fd.abs().max() > 1e-3
    assert torch.allclose(s_.grad, fd, rtol=1e-6, atol=1e-9)


def test_dkd_is_finite_for_saturated_logits():
    """Target probabilities of exactly 1 in float32 (1 - p = 0): no log(0)."""
    s, t = (x.float() * 100 for x in _logits())
    s.requires_grad_(True)
    temp = torch.ones(6, 1, requires_grad=True)
    labels = torch.cat([t.argmax(1)[:3], s.detach().argmax(1)[3:]])
    assert (torch.softmax(t, 1).max(1).values == 1).any()  # really saturated
    loss = DKDLoss()(s, t, temp, labels)
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
    assert torch.isfinite(s.grad).all() and torch.isfinite(temp.grad).all()
    ref = DKDLoss()(s.detach().double(), t.double(), 1.0, labels)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-4)


# -- fg/bg-decoupled KD -----------------------------------------------------------
def test_kd_loss_fg_bg_weights_against_hand_computation():
    s, t = _logits()
    rows = _hand_kd_rows(s, t, TEMPS)
    fg = [r for r, y in zip(rows, LABELS.tolist()) if y < 4]
    bg = [r for r, y in zip(rows, LABELS.tolist()) if y == 4]
    expected = 1.5 * (2.0 * sum(fg) / len(fg) + 0.5 * sum(bg) / len(bg))
    loss = KDLoss(loss_weight=1.5, fg_weight=2.0, bg_weight=0.5)(
        s, t, TEMPS, LABELS)
    assert loss.item() == pytest.approx(expected, rel=1e-10)
    # not the plain mean reweighted: the groups are averaged separately
    plain = KDLoss(loss_weight=1.5)(s, t, TEMPS).item()
    assert abs(loss.item() - plain) > 1e-3


def test_kd_loss_bg_weight_zero_is_kd_over_foreground_rows():
    s, t = _logits()
    fg = LABELS < 4
    loss = KDLoss(fg_weight=1.0, bg_weight=0.0)(s, t, TEMPS, LABELS)
    ref = KDLoss()(s[fg], t[fg], TEMPS[fg])
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    assert abs(loss.item() - KDLoss()(s, t, TEMPS).item()) > 1e-3


def test_kd_loss_fg_bg_with_only_foreground_rows_equals_kd_loss():
    s, t = _logits()
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    loss = KDLoss(fg_weight=1.0, bg_weight=1.0)(s, t, TEMPS, labels)
    assert loss.item() == pytest.approx(KDLoss()(s, t, TEMPS).item(), rel=1e-12)
    # an empty group contributes 0: all background, fg weight irrelevant
    all_bg = torch.full((6,), 4)
    a = KDLoss(fg_weight=7.0, bg_weight=1.0)(s, t, TEMPS, all_bg)
    assert a.item() == pytest.approx(KDLoss()(s, t, TEMPS).item(), rel=1e-12)


def test_kd_loss_without_group_weights_ignores_labels_and_is_unchanged():
    s, t = _logits()
    loss = KDLoss()(s, t, TEMPS)
    assert torch.equal(KDLoss()(s, t, TEMPS, LABELS), loss)
    assert torch.equal(KDLoss()(s, t, TEMPS, torch.tensor([99])), loss)
    expected = sum(_hand_kd_rows(s, t, TEMPS)) / 6
    assert loss.item() == pytest.approx(expected, rel=1e-10)


def test_kd_loss_fg_bg_requires_labels_and_both_weights():
    s, t = _logits()
    with pytest.raises(ValueError, match='labels'):
        KDLoss(fg_weight=1.0, bg_weight=0.5)(s, t, TEMPS)
    with pytest.raises(ValueError, match='both fg_weight and bg_weight'):
        KDLoss(fg_weight=1.0)
    with pytest.raises(ValueError, match='>= 0'):
        KDLoss(fg_weight=1.0, bg_weight=-1.0)
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        KDLoss(fg_weight=1.0, bg_weight=1.0)(s, t, TEMPS, LABELS + 1)


# -- common ---------------------------------------------------------------------
@pytest.mark.parametrize('loss_fn', [
    DKDLoss(), KDLoss(), KDLoss(fg_weight=1.0, bg_weight=0.5)
], ids=['dkd', 'kd', 'kd_fg_bg'])
def test_teacher_is_detached_and_student_and_temperature_get_gradients(loss_fn):
    s, t = _logits()
    s.requires_grad_(True)
    t.requires_grad_(True)
    temp = TEMPS.clone().requires_grad_(True)
    loss_fn(s, t, temp, LABELS).backward()
    assert t.grad is None
    assert s.grad.abs().sum() > 0 and temp.grad.abs().sum() > 0


def test_dkd_empty_rois_give_zero_with_graph():
    s = torch.zeros(0, 5, requires_grad=True)
    theta = torch.tensor(0.3, requires_grad=True)
    out = DKDLoss()(s, torch.zeros(0, 5), theta.exp(),
                    torch.zeros(0, dtype=torch.long))
    assert out.item() == 0 and out.requires_grad
    out.backward()
    assert s.grad.shape == (0, 5) and theta.grad.item() == 0
    out = KDLoss(fg_weight=1.0, bg_weight=1.0)(
        s, torch.zeros(0, 5), 2.0, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0 and out.requires_grad


def test_dkd_bad_inputs_raise_clear_errors():
    s, t = _logits()
    dkd = DKDLoss()
    with pytest.raises(ValueError, match='labels'):
        dkd(s, t, TEMPS)
    with pytest.raises(ValueError, match=r'shape \(6,\)'):
        dkd(s, t, TEMPS, LABELS[:5])
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        dkd(s, t, TEMPS, LABELS + 1)
    with pytest.raises(ValueError, match=r'\[0, 4\]'):
        dkd(s, t, TEMPS, LABELS - 1)
    with pytest.raises(ValueError, match='integers'):
        dkd(s, t, TEMPS, LABELS.float())
    with pytest.raises(ValueError, match='temperature'):
        dkd(s, t, TEMPS[:4], LABELS)
    with pytest.raises(ValueError, match='temperature'):
        dkd(s, t, torch.ones(6, 2), LABELS)
    with pytest.raises(ValueError, match='differ in shape'):
        dkd(s, t[:, :3], TEMPS, LABELS)
    with pytest.raises(ValueError, match='at least 2 columns'):
        dkd(s[:, :1], t[:, :1], TEMPS, torch.zeros(6, dtype=torch.long))
    with pytest.raises(ValueError, match='beta'):
        DKDLoss(beta=-0.1)
    with pytest.raises(ValueError, match='temperature'):
        KDLoss()(s, t, torch.ones(3, 1))


def test_losses_are_registered_in_mmdet_models():
    m = MODELS.build(dict(type='DKDLoss', alpha=2.0, beta=0.5, loss_weight=3.0))
    assert isinstance(m, DKDLoss) and (m.alpha, m.beta, m.loss_weight) == \
        (2.0, 0.5, 3.0)
    m = MODELS.build(dict(type='KDLoss', fg_weight=1.0, bg_weight=0.25))
    assert isinstance(m, KDLoss) and (m.fg_weight, m.bg_weight) == (1.0, 0.25)
