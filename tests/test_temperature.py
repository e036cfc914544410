"""Temperature modules, gradient reversal and KD loss: values and gradients."""
import math

import pytest
import torch
import torch.nn.functional as F

import ctkd_det  # noqa: F401  (registers modules)
from ctkd_det.models import (FixedTemperature, GlobalTemperature,
                             InstanceTemperature, KDLoss, grad_reverse)
from ctkd_det.registry import MODELS


def _logits(n=6, c=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, c, generator=g, dtype=torch.float64) * 3,
            torch.randn(n, c, generator=g, dtype=torch.float64) * 3)


def test_grad_reverse_is_identity_forward_and_negates_scaled_backward():
    x = torch.randn(4, requires_grad=True)
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.arange(4.)).sum().backward()
    assert torch.allclose(x.grad, -0.5 * torch.arange(4.))


def test_kd_loss_matches_hand_computation_per_row_temperature():
    s, t = _logits()
    temp = torch.tensor([[1.], [2.], [3.], [4.], [5.], [6.]], dtype=s.dtype)
    expected = 0.
    for i in range(s.size(0)):
        T = temp[i, 0]
        p_t = F.softmax(t[i] / T, 0)
        expected += (T ** 2) * (p_t * (p_t.log() - F.log_softmax(s[i] / T, 0))).sum()
    expected /= s.size(0)
    loss = KDLoss(loss_weight=2.0)(s, t, temp)
    assert torch.allclose(loss, 2.0 * expected)
    # scalar temperature broadcasts; identical logits give zero loss
    assert torch.allclose(KDLoss()(s, s.clone(), 4.0), torch.zeros((), dtype=s.dtype))
    assert KDLoss()(s, t, 4.0) > 0


def test_kd_loss_detaches_teacher_and_handles_empty():
    s, t = _logits()
    s.requires_grad_(True)
    t.requires_grad_(True)
    KDLoss()(s, t, 3.0).backward()
    assert t.grad is None and s.grad.abs().sum() > 0
    empty = torch.zeros(0, 5, requires_grad=True)
    out = KDLoss()(empty, torch.zeros(0, 5), 2.0)
    assert out.item() == 0 and out.requires_grad
    with pytest.raises(ValueError, match='differ in shape'):
        KDLoss()(s, t[:, :3], 1.0)


def test_global_temperature_follows_authors_parametrisation():
    m = GlobalTemperature()
    s, t = _logits()
    out = m(t.float(), s.float())
    assert out.shape == (6, 1)
    # theta init 1, t_min 1, range 20: T = 1 + 20 * sigmoid(1)
    assert torch.allclose(out, torch.full((6, 1), 1 + 20 / (1 + math.exp(-1))))
    assert list(dict(m.named_parameters())) == ['theta']
    assert 'lambda_' not in m.state_dict()


@pytest.mark.parametrize('lam', [0.5, 1.0])
def test_reversal_gradient_equals_minus_lambda_times_finite_difference(lam):
    """θ's gradient is −λ · ∂L/∂θ, with ∂L/∂θ from a central finite difference."""
    s, t = _logits()
    m = GlobalTemperature().double()
    m.lambda_ = lam
    loss_fn = KDLoss()
    loss = loss_fn(s, t, m(t, s))
    loss.backward()

    def loss_at(theta):
        T = 1 + 20 * torch.sigmoid(torch.tensor(theta, dtype=torch.float64))
        return loss_fn(s, t, T).item()

    eps = 1e-5
    theta0 = m.theta.item()
    fd = (loss_at(theta0 + eps) - loss_at(theta0 - eps)) / (2 * eps)
    assert abs(fd) > 1e-4  # the check is not vacuous
    assert m.theta.grad.item() == pytest.approx(-lam * fd, rel=1e-6)
    # the same in terms of T: −λ · ∂L/∂T (finite difference in T) · dT/dθ
    T0 = 1 + 20 * torch.sigmoid(torch.tensor(theta0, dtype=torch.float64))
    dl_dt = (loss_fn(s, t, T0 + eps).item() -
             loss_fn(s, t, T0 - eps).item()) / (2 * eps)
    dt_dtheta = 20 * torch.sigmoid(torch.tensor(theta0)).item() * \
        (1 - torch.sigmoid(torch.tensor(theta0)).item())
    assert m.theta.grad.item() == pytest.approx(-lam * dl_dt * dt_dtheta,
                                                rel=1e-5)


def test_student_gradient_does_not_depend_on_lambda():
    s, t = _logits()
    grads = []
    for lam in (0.0, 0.5, 1.0):
        m = GlobalTemperature().double()
        m.lambda_ = lam
        s_ = s.clone().requires_grad_(True)
        KDLoss()(s_, t, m(t, s_)).backward()
        grads.append(s_.grad)
        assert m.theta.grad is not None
    assert torch.equal(grads[0], grads[1]) and torch.equal(grads[1], grads[2])
    assert grads[0].abs().sum() > 0


def test_instance_temperature_per_row_bounded_and_reversed():
    torch.manual_seed(0)
    m = InstanceTemperature(num_classes=5, hidden_dims=(16,), t_min=2., t_max=8.)
    s, t = (x.float() for x in _logits())
    out = m(t, s)
    assert out.shape == (6, 1)
    # zero-initialised head: every RoI starts at the global init T
    assert torch.allclose(out, torch.full((6, 1), 2 + 6 * torch.sigmoid(torch.tensor(1.)).item()))
    with torch.no_grad():
        m.head.weight.normal_(std=5.0)
    out = m(t, s)
    assert out.std() > 0 and out.min() >= 2 and out.max() <= 8
    # reversal: head bias gradient equals -lambda times the un-reversed one
    s_ = s.clone().requires_grad_(True)
    grads = {}
    for lam in (1.0, 0.0):
        m.zero_grad()
        m.lambda_ = lam
        KDLoss()(s_, t, m(t, s_)).backward()
        grads[lam] = m.head.bias.grad.clone()
    assert grads[0.0].abs().sum() == 0
    m.zero_grad()
    m.lambda_ = -1.0  # reversal of -1 is the plain gradient
    KDLoss()(s_, t, m(t, s_)).backward()
    assert torch.allclose(grads[1.0], -m.head.bias.grad)
    assert grads[1.0].abs().sum() > 0


@pytest.mark.parametrize('lam', [0.5, 1.0])
def test_instance_reversal_gradient_equals_minus_lambda_times_finite_difference(
        lam):
    """Every parameter's gradient is −λ · ∂L/∂w of the KD loss, ∂L/∂w from a
    central finite difference of the loss itself (no autograd)."""
    torch.manual_seed(0)
    m = InstanceTemperature(num_classes=5, hidden_dims=(8, ), t_min=2.,
                            t_max=8.).double()
    with torch.no_grad():
        m.head.weight.normal_(std=0.5)  # per-row temperatures that differ
    s, t = _logits()
    loss_fn = KDLoss()
    m.lambda_ = lam
    loss_fn(s, t, m(t, s)).backward()
    eps = 1e-6
    checked = 0
    for name, p in m.named_parameters():
        flat = p.data.view(-1)
        for i in range(0, flat.numel(), max(1, flat.numel() // 3)):
            old = flat[i].item()
            with torch.no_grad():
                flat[i] = old + eps
                up = loss_fn(s, t, m(t, s)).item()
                flat[i] = old - eps
                down = loss_fn(s, t, m(t, s)).item()
                flat[i] = old
            fd = (up - down) / (2 * eps)
            assert p.grad.view(-1)[i].item() == pytest.approx(
                -lam * fd, rel=1e-5, abs=1e-9), (name, i)
            checked += abs(fd) > 1e-4
    assert checked >= 4  # the check is not vacuous


def test_instance_temperature_does_not_push_gradients_into_logits():
    m = InstanceTemperature(num_classes=5)
    s, t = (x.float().requires_grad_(True) for x in _logits())
    m.lambda_ = 1.0
    m(t, s).sum().backward()
    assert s.grad is None and t.grad is None


def test_fixed_temperature_is_constant_and_parameter_free():
    m = FixedTemperature(value=4.0)
    s, t = _logits()
    assert torch.equal(m(t, s), torch.full((6, 1), 4.0, dtype=s.dtype))
    assert len(list(m.parameters())) == 0


def test_bad_temperature_configs_raise_clear_errors():
    with pytest.raises(ValueError, match='0 < t_min < t_max'):
        GlobalTemperature(t_min=5, t_max=2)
    with pytest.raises(ValueError, match='0 < t_min < t_max'):
        InstanceTemperature(num_classes=3, t_min=0, t_max=2)
    with pytest.raises(ValueError, match='> 0'):
        FixedTemperature(value=0)
    m = InstanceTemperature(num_classes=4)
    with pytest.raises(ValueError, match='4 logit columns'):
        m(torch.zeros(2, 5), torch.zeros(2, 5))


def test_modules_are_registered_in_mmdet_models():
    m = MODELS.build(dict(type='GlobalTemperature', t_min=1, t_max=11))
    assert isinstance(m, GlobalTemperature) and m.t_max == 11
    assert isinstance(MODELS.build(dict(type='KDLoss')), KDLoss)
