"""KDSingleStageDetector and SigmoidKDLoss: the sigmoid KD values and gradients,
dense-logit alignment and its build-time checks, teacher isolation, the four
mmdet one-stage families (RetinaNet, FCOS, ATSS, GFL), and a CTKD run through
mmengine's Runner whose exported student tools/test.py evaluates."""
import copy
import math
import os.path as osp
import pickle
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint

import ctkd_det  # noqa: F401  (registers modules)
from ctkd_det.apis import last_checkpoint, read_scalars
from ctkd_det.apis.export import export
from ctkd_det.models import GlobalTemperature, KDSingleStageDetector, SigmoidKDLoss
from ctkd_det.models.detectors.dense_layout import cls_logit_rows
from mmdet.registry import MODELS

from _kd_runs import NUM_CLASSES as SHAPES_NUM_CLASSES
from _kd_runs import save_tiny_teacher, tiny_ctkd_cfg
from _tiny import (NUM_CLASSES, fake_batch, tiny_atss, tiny_faster_rcnn,
                   tiny_fcos, tiny_gfl, tiny_kd_single, tiny_retinanet)
from conftest import CONFIGS, assert_teacher_outside_module_tree, run_tool

pytestmark = pytest.mark.usefixtures('one_torch_thread')

SHAPES_CTKD_GLOBAL = osp.join(
    CONFIGS, 'shapes', 'retinanet_r50-to-r18_fpn_ctkd-global_cpu_shapes.py')


# -- SigmoidKDLoss ------------------------------------------------------------------
def _logits(n=6, k=4, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, k, generator=g, dtype=torch.float64) * scale,
            torch.randn(n, k, generator=g, dtype=torch.float64) * scale)


TEMPS = torch.tensor([[1.], [2.], [0.5], [4.], [3.], [1.5]], dtype=torch.float64)


def _sig(x):
    return 1 / (1 + math.exp(-x))


def _hand_sigmoid_kd(s, t, temps, weighting):
    """The brief's formula row by row in python floats (float64):
    Σ_i w_i T_i² Σ_c [p log(p/q) + (1-p) log((1-p)/(1-q))] / Σ_i w_i."""
    num = den = 0.
    for i in range(s.shape[0]):
        T = float(temps.reshape(-1)[i]) if temps.numel() > 1 else float(temps)
        kd = 0.
        for c in range(s.shape[1]):
            p, q = _sig(float(t[i, c]) / T), _sig(float(s[i, c]) / T)
            kd += p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))
        w = 1. if weighting == 'uniform' else \
            max(_sig(float(t[i, c])) for c in range(s.shape[1]))
        num += w * T * T * kd
        den += w
    return num / den


@pytest.mark.parametrize('weighting', ['uniform', 'teacher_score'])
@pytest.mark.parametrize('loss_weight', [1.0, 2.5])
def test_sigmoid_kd_matches_float64_hand_computation_per_row_temperature(
        weighting, loss_weight):
    s, t = _logits()
    loss = SigmoidKDLoss(loss_weight=loss_weight, location_weight=weighting)
    out = loss(s, t, TEMPS)
    expected = loss_weight * _hand_sigmoid_kd(s, t, TEMPS, weighting)
    assert out.dtype == torch.float64
    assert out.item() == pytest.approx(expected, rel=1e-10)
    # a scalar T is the same as that T on every row
    scalar = loss(s, t, 3.0).item()
    assert scalar == pytest.approx(
        loss_weight * _hand_sigmoid_kd(s, t, torch.tensor(3.0), weighting),
        rel=1e-10)
    # the two weightings differ on these logits (the weights are not uniform)
    other = 'uniform' if weighting == 'teacher_score' else 'teacher_score'
    assert out.item() != pytest.approx(
        loss_weight * _hand_sigmoid_kd(s, t, TEMPS, other), rel=1e-3)


def test_sigmoid_kd_student_gradient_is_t_times_weighted_prob_difference():
    """∂L/∂s_ic = T_i · w_i (σ(s_ic/T_i) − σ(t_ic/T_i)) / Σ w (the binary KL's
    gradient; its T² and 1/T give one T)."""
    s, t = _logits(seed=2)
    s.requires_grad_(True)
    SigmoidKDLoss()(s, t, TEMPS).backward()
    w = torch.sigmoid(t).amax(1, keepdim=True)
    expected = TEMPS * w * (torch.sigmoid(s / TEMPS) -
                            torch.sigmoid(t / TEMPS)) / w.sum()
    assert torch.allclose(s.grad, expected.detach(), rtol=1e-10, atol=1e-14)


def test_sigmoid_kd_is_zero_when_student_equals_teacher():
    s, _ = _logits(seed=3)
    s.requires_grad_(True)
    for temps in (TEMPS, 1.0, 15.6):
        out = SigmoidKDLoss()(s, s.detach().clone(), temps)
        assert out.item() == pytest.approx(0.0, abs=1e-12)
        grad, = torch.autograd.grad(out, s)
        assert grad.abs().max().item() < 1e-12
    # and positive as soon as they differ
    assert SigmoidKDLoss()(s, s.detach() + 0.5, TEMPS).item() > 1e-4


@pytest.mark.parametrize('lam', [0.5, 1.0])
def test_sigmoid_kd_reversal_gives_temperature_minus_lambda_dl_dt(lam):
    """θ.grad = −λ · ∂L/∂T · dT/dθ, ∂L/∂T from a central difference of the loss
    in T: the CTKD global temperature ascends the sigmoid KD loss."""
    s, t = _logits(seed=4)
    m = GlobalTemperature(init_value=-1.0).double()
    m.lambda_ = lam
    loss_fn = SigmoidKDLoss()
    loss_fn(s, t, m(t, s)).backward()

    theta0 = m.theta.item()
    sig = _sig(theta0)
    T0 = 1 + 20 * sig
    eps = 1e-5
    dl_dt = (loss_fn(s, t, T0 + eps).item() -
             loss_fn(s, t, T0 - eps).item()) / (2 * eps)
    assert abs(dl_dt) > 1e-4  # not vacuous
    dt_dtheta = 20 * sig * (1 - sig)
    assert m.theta.grad.item() == pytest.approx(-lam * dl_dt * dt_dtheta,
                                                rel=1e-5)


def test_sigmoid_kd_is_finite_for_saturated_logits_and_float32_under_autocast():
    s = torch.tensor([[80., -90., 0.], [-200., 300., 5.]], requires_grad=True)
    t = torch.tensor([[-90., 80., 1.], [300., -200., 5.]])
    out = SigmoidKDLoss(location_weight='uniform')(s, t, 1.0)
    out.backward()
    assert torch.isfinite(out) and out.item() > 100
    assert torch.isfinite(s.grad).all()
    # half-precision inputs: computed (and returned) in float32
    half = SigmoidKDLoss()(s.detach().half(), t.half(), 2.0)
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(
        SigmoidKDLoss()(s.detach(), t, 2.0).item(), rel=1e-3)


def test_sigmoid_kd_empty_rows_and_bad_arguments():
    s = torch.zeros(0, 4, requires_grad=True)
    temp = torch.tensor(2.0, requires_grad=True)
    out = SigmoidKDLoss()(s, torch.zeros(0, 4), temp)
    out.backward()
    assert out.item() == 0 and s.grad is not None and temp.grad is not None
    with pytest.raises(ValueError, match='location_weight must be one of'):
        SigmoidKDLoss(location_weight='positives')
    with pytest.raises(ValueError, match='loss_weight must be >= 0'):
        SigmoidKDLoss(loss_weight=-1)
    with pytest.raises(ValueError, match='differ in shape'):
        SigmoidKDLoss()(torch.zeros(3, 4), torch.zeros(3, 5), 1.0)
    with pytest.raises(ValueError, match='temperature must be'):
        SigmoidKDLoss()(torch.zeros(3, 4), torch.zeros(3, 4), torch.ones(2))
    assert MODELS.get('SigmoidKDLoss') is SigmoidKDLoss


# -- the detector -------------------------------------------------------------------
def test_cls_logit_rows_give_one_row_per_image_level_cell_and_anchor():
    """Row ``(b, l, h, w, a)`` holds the C logits of anchor ``a`` at cell
    ``(h, w)`` of level ``l`` of image ``b``, class ``c`` in column ``c``: the
    head's channel ``a·C + c`` (mmdet's own ``permute(0, 2, 3, 1).reshape(-1,
    C)`` order, the order of its anchors and targets)."""
    B, A, C, sizes = 2, 3, 4, [(3, 5), (2, 2)]

    def code(b, lvl, a, c, h, w):
        return b * 1e5 + lvl * 1e4 + a * 1e3 + c * 1e2 + h * 10 + w

    levels = []
    for lvl, (H, W) in enumerate(sizes):
        x = torch.empty(B, A * C, H, W, dtype=torch.float64)
        for b in range(B):
            for a in range(A):
                for c in range(C):
                    for h in range(H):
                        for w in range(W):
                            x[b, a * C + c, h, w] = code(b, lvl, a, c, h, w)
        levels.append(x)
    rows = cls_logit_rows(levels, C)
    expected = [[code(b, lvl, a, c, h, w) for c in range(C)]
                for b in range(B) for lvl, (H, W) in enumerate(sizes)
                for h in range(H) for w in range(W) for a in range(A)]
    assert torch.equal(rows, torch.tensor(expected, dtype=torch.float64))


# the plain detector, the head's class conv and the convs of its other branches
FAMILIES = {
    'retinanet': (tiny_retinanet, 'RetinaNet', 'retina_cls', ['retina_reg']),
    'fcos': (tiny_fcos, 'FCOS', 'conv_cls', ['conv_reg', 'conv_centerness']),
    'atss': (tiny_atss, 'ATSS', 'atss_cls', ['atss_reg', 'atss_centerness']),
    'gfl': (tiny_gfl, 'GFL', 'gfl_cls', ['gfl_reg']),
}


def _build(student=None, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_kd_single(student, **kwargs))
    model.init_weights()
    return model


def _student_state(model):
    return {k: v for k, v in model.state_dict().items()
            if not k.startswith('temperature.')}


def _total(losses, keys):
    return sum(sum(v) if isinstance(v, list) else v
               for k, v in losses.items() if k in keys)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_each_family_distils_its_class_branch_and_keeps_its_own_losses(family):
    """RetinaNet / FCOS / ATSS / GFL: ``loss_kd`` is the KD loss of the class
    conv's own outputs (for GFL the quality-focal joint score, for FCOS / ATSS
    without centerness) against the teacher's; its gradient reaches the class
    branch and the temperature, never the box / centerness branches; the
    student's mmdet losses are the plain detector's; one SGD step on it lowers
    it; the student's weights load strictly into the plain detector."""
    tiny, plain_type, cls_conv, other_convs = FAMILIES[family]
    model = _build(tiny(), temperature=dict(type='FixedTemperature', value=2.0))
    model.train()
    head = model.bbox_head
    seen = []
    handle = getattr(head, cls_conv).register_forward_hook(
        lambda m, a, out: seen.append(out))
    inputs, samples = fake_batch(seed=1)
    try:
        losses = model.loss(inputs, samples)
    finally:
        handle.remove()
    columns = head.cls_out_channels
    assert columns == NUM_CLASSES and len(seen) == len(head.prior_generator.strides)
    with torch.no_grad():
        t_scores = model.teacher.bbox_head(model.teacher.extract_feat(inputs))[0]
    s_rows = cls_logit_rows(seen, columns)
    anchors = sum(n * x.shape[-2] * x.shape[-1] for n, x in zip(
        head.prior_generator.num_base_priors, seen))
    assert s_rows.shape == (2 * anchors, columns)
    expected = SigmoidKDLoss()(s_rows, cls_logit_rows(t_scores, columns), 2.0)
    kd = losses['loss_kd']
    assert torch.isfinite(kd) and kd.item() > 1e-4
    assert kd.item() == pytest.approx(expected.item(), rel=1e-6)
    assert losses['kd_temp'].item() == pytest.approx(2.0)

    # the student's own losses are the plain detector's
    plain = MODELS.build(tiny())
    assert type(plain).__name__ == plain_type
    plain.load_state_dict(_student_state(model), strict=True)
    plain.train()
    plain_losses = plain.loss(inputs, samples)
    own = sorted(k for k in plain_losses)
    assert own == sorted(k for k in losses if not k.startswith(('loss_kd',
                                                                'kd_temp')))
    for k in own:
        assert _total(losses, [k]).item() == pytest.approx(
            _total(plain_losses, [k]).item(), rel=1e-5), k

    # the KD gradient: class branch and trunk, not the other branches
    model.zero_grad()
    kd.backward()
    grads = {n: (p.grad.abs().sum().item() if p.grad is not None else 0.)
             for n, p in model.named_parameters()}
    assert grads[f'bbox_head.{cls_conv}.weight'] > 0
    assert any(grads[n] > 0 for n in grads if n.startswith('backbone.'))
    for conv in other_convs:
        assert grads[f'bbox_head.{conv}.weight'] == 0, conv
    assert all(p.grad is None for p in model.teacher.parameters())

    # a step along it lowers it (same batch)
    with torch.no_grad():
        for p in model.parameters():
            if p.grad is not None:
                p.sub_(1e-3 * p.grad)
    assert model.loss(inputs, samples)['loss_kd'].item() < kd.item()


def test_zero_kd_when_the_teacher_is_the_student():
    model = _build(temperature=dict(type='FixedTemperature', value=8.0))
    model.teacher.load_state_dict(_student_state(model), strict=True)
    model.train()  # the tiny ResNets keep BN in eval mode (norm_eval)
    inputs, samples = fake_batch()
    losses = model.loss(inputs, samples)
    assert losses['loss_kd'].abs().item() < 1e-6
    with torch.no_grad():
        model.teacher.bbox_head.retina_cls.bias.add_(0.5)
    assert model.loss(inputs, samples)['loss_kd'].item() > 1e-3


def test_teacher_is_frozen_in_eval_and_outside_module_tree():
    model = _build()
    assert isinstance(model, KDSingleStageDetector)
    assert_teacher_outside_module_tree(model)


def test_reversed_temperature_gradient_through_the_detector():
    """λ = 1: θ gets the reversed gradient of loss_kd; λ = 0: none."""
    model = _build()
    model.train()
    model.temperature.lambda_ = 1.0
    model.loss(*fake_batch())['loss_kd'].backward()
    g = model.temperature.theta.grad
    assert g is not None and g.item() != 0
    model.zero_grad()
    model.temperature.lambda_ = 0.0
    model.loss(*fake_batch())['loss_kd'].backward()
    assert model.temperature.theta.grad.item() == 0


def test_predict_is_student_only_and_weights_load_into_plain_retinanet():
    student = tiny_retinanet()
    student.test_cfg.score_thr = 0.0  # untrained: keep every box
    model = _build(student)
    plain = MODELS.build(student)
    plain.load_state_dict(_student_state(model), strict=True)
    model.eval()
    plain.eval()
    inputs, samples = fake_batch()
    with torch.no_grad():
        a = model.predict(inputs, copy.deepcopy(samples))
        b = plain.predict(inputs, copy.deepcopy(samples))
    assert sum(len(x.pred_instances) for x in a) > 0
    for x, y in zip(a, b):
        assert torch.equal(x.pred_instances.bboxes, y.pred_instances.bboxes)
        assert torch.equal(x.pred_instances.scores, y.pred_instances.scores)


def test_instance_temperature_gives_one_t_per_location():
    model = _build(temperature=dict(type='InstanceTemperature',
                                    num_classes=NUM_CLASSES, hidden_dims=(8,)))
    model.train()
    model.temperature.lambda_ = 1.0
    seen = {}
    orig = model.temperature.forward

    def spy(t, s):
        seen['temp'] = orig(t, s)
        return seen['temp']

    model.temperature.forward = spy
    losses = model.loss(*fake_batch())
    rows = seen['temp']
    assert rows.dim() == 2 and rows.size(1) == 1 and rows.size(0) > 1000
    assert losses['kd_temp'].item() == pytest.approx(rows.mean().item(), rel=1e-6)
    losses['loss_kd'].backward()
    assert model.temperature.head.bias.grad.item() != 0


def test_mismatched_teachers_are_refused_at_build():
    """Everything that would misalign the rows or columns, before training."""
    cases = [
        (tiny_retinanet(strides=(4, 8, 16, 32, 64)), 'strides per level'),
        (tiny_retinanet(scales_per_octave=1),
         r'anchors/points per location, per level: teacher \(3, 3, 3, 3, 3\), '
         r'student \(9, 9, 9, 9, 9\)'),
        (tiny_retinanet(num_classes=NUM_CLASSES + 1), 'num_classes: teacher 4'),
        (tiny_retinanet(sigmoid=False), 'use_sigmoid_cls'),
        (tiny_faster_rcnn(), 'must be a one-stage detector'),
        (tiny_fcos(), 'prior generator type'),
    ]
    for teacher, match in cases:
        with pytest.raises(ValueError, match=match):
            _build(teacher=teacher)
    # another head family with the same layout is accepted (ATSS -> GFL: one
    # equal anchor per cell, sigmoid, same classes and strides)
    model = _build(tiny_gfl(), teacher=tiny_atss())
    assert type(model.teacher).__name__ == 'ATSS'
    assert torch.isfinite(model.loss(*fake_batch())['loss_kd'])


def test_feature_sizes_are_checked_at_every_step():
    """A teacher whose neck starts one level earlier declares the same strides
    but gives other feature sizes: refused at the first step."""
    teacher = tiny_retinanet()
    teacher.neck.start_level = 0
    model = _build(teacher=teacher)
    model.train()
    with pytest.raises(ValueError, match='differ in shape per level'):
        model.loss(*fake_batch())


def test_loss_form_and_temperature_must_fit_the_head():
    with pytest.raises(ValueError, match='sigmoid classifier .*must be a sigmoid '
                       'KD loss such as SigmoidKDLoss, got KDLoss'):
        _build(distill_loss=dict(type='KDLoss'))
    with pytest.raises(ValueError, match='softmax classifier .*such as KDLoss, '
                       'got SigmoidKDLoss'):
        _build(tiny_retinanet(sigmoid=False))
    with pytest.raises(ValueError, match='num_classes is the number of logit '
                       'columns: 3'):
        _build(temperature=dict(type='InstanceTemperature', num_classes=4))
    with pytest.raises(ValueError, match='RLTemperature'):
        _build(temperature=dict(type='RLTemperature'))
    with pytest.raises(ValueError, match='not a dense head'):
        student = tiny_retinanet()
        student.bbox_head = dict(type='CenterNetHead', num_classes=NUM_CLASSES,
                                 in_channels=16, feat_channels=16)
        _build(student, teacher=tiny_retinanet())


def test_softmax_head_distils_with_kd_loss_over_all_columns():
    """A softmax RetinaNet head (C + 1 columns, background last) with KDLoss:
    loss_kd is the mean softmax KD over every anchor's row."""
    student = tiny_retinanet(sigmoid=False)
    model = _build(student, temperature=dict(type='FixedTemperature', value=4.0),
                   distill_loss=dict(type='KDLoss'))
    model.train()
    seen = []
    handle = model.bbox_head.retina_cls.register_forward_hook(
        lambda m, a, out: seen.append(out))
    inputs, samples = fake_batch(seed=2)
    try:
        losses = model.loss(inputs, samples)
    finally:
        handle.remove()
    assert model.bbox_head.cls_out_channels == NUM_CLASSES + 1
    with torch.no_grad():
        t_scores = model.teacher_cls_scores(inputs)
    s = cls_logit_rows(seen, NUM_CLASSES + 1)
    t = cls_logit_rows(t_scores, NUM_CLASSES + 1)
    expected = (torch.softmax(t / 4, 1) * (torch.log_softmax(t / 4, 1) -
                                           torch.log_softmax(s / 4, 1))
                ).sum(1).mean() * 16
    assert losses['loss_kd'].item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses['loss_kd'].item() > 1e-4


def test_non_finite_teacher_logits_skip_the_kd_term():
    model = _build()
    model.train()
    with torch.no_grad():
        model.teacher.bbox_head.retina_cls.bias[0] = float('nan')
    losses = model.loss(*fake_batch())
    assert losses['loss_kd'].item() == 0 and model.kd_skipped_steps == 1
    assert torch.isfinite(_total(losses, ['loss_cls', 'loss_bbox']))
    losses['loss_kd'].backward()  # the temperature joins the graph (DDP)
    assert model.temperature.theta.grad.item() == 0


def test_teacher_with_other_normalisation_sees_its_own_inputs():
    teacher = tiny_retinanet(mean=[0., 0., 0.])
    teacher['data_preprocessor']['bgr_to_rgb'] = False
    model = _build(teacher=teacher)
    assert model._teacher_input is not None and _build()._teacher_input is None
    inputs = fake_batch()[0]
    seen = {}
    orig = model.teacher.extract_feat

    def spy(x):
        seen['x'] = x
        return orig(x)

    model.teacher.extract_feat = spy
    model.teacher_cls_scores(inputs)
    s_pre, t_pre = model.data_preprocessor, model.teacher.data_preprocessor
    raw = (inputs * s_pre.std + s_pre.mean).flip(1)
    assert torch.allclose(seen['x'], (raw - t_pre.mean) / t_pre.std, atol=1e-4)


# -- a CTKD run through mmengine's Runner ------------------------------------------
@pytest.fixture(scope='module')
def ctkd_run(tiny_shapes, tmp_path_factory):
    """The shapes RetinaNet CTKD-global config with tiny RetinaNets: 2 epochs of
    4 iterations, λ per iteration over 8, validation after each epoch."""
    tmp = tmp_path_factory.mktemp('single_stage')
    teacher = save_tiny_teacher(tmp / 'teacher.pth', tiny=tiny_retinanet)
    work = str(tmp / 'ctkd')
    cfg = tiny_ctkd_cfg(tiny_shapes, work, teacher, epochs=2, loops=8,
                        config=SHAPES_CTKD_GLOBAL, tiny=tiny_retinanet)
    assert cfg.model.type == 'KDSingleStageDetector'
    runner = Runner.from_cfg(cfg)
    runner.train()
    val = [r for r in read_scalars(work) if 'coco/bbox_mAP' in r][-1]
    return dict(tmp=tmp, work=work, runner=runner, cfg=cfg, teacher=teacher,
                val={k: v for k, v in val.items() if k.startswith('coco/')})


def test_runner_follows_the_curriculum_and_moves_the_temperature(ctkd_run):
    train = [r for r in read_scalars(ctkd_run['work']) if 'loss_kd' in r]
    assert [r['iter'] for r in train] == list(range(1, 9))
    for r in train:
        assert r['lambda'] == pytest.approx(
            (1 - math.cos(math.pi * (r['iter'] - 1) / 8)) / 2)
        assert 1.0 <= r['kd_temp'] <= 21.0 and r['loss_kd'] >= 0
        assert math.isfinite(r['loss_kd']) and r['loss_kd'] > 0
    t0 = 1 + 20 * _sig(1.0)
    assert train[0]['kd_temp'] == pytest.approx(t0, rel=1e-5)
    assert train[1]['kd_temp'] == pytest.approx(t0, rel=1e-5)  # λ = 0 step
    assert train[-1]['kd_temp'] != pytest.approx(t0, rel=1e-4)
    model = ctkd_run['runner'].model
    assert model.temperature.theta.item() != pytest.approx(1.0, abs=1e-4)
    assert model.temperature.lambda_ == pytest.approx(
        (1 - math.cos(math.pi * 7 / 8)) / 2)
    assert not model.teacher.training
    # the teacher is the saved one, untouched by training
    saved = _load_checkpoint(ctkd_run['teacher'], map_location='cpu')
    for k, v in saved.items():  # save_tiny_teacher saves the bare state dict
        assert torch.equal(model.teacher.state_dict()[k], v), k


def test_checkpoint_holds_the_student_and_loads_into_plain_retinanet(ctkd_run):
    state = _load_checkpoint(last_checkpoint(ctkd_run['work']),
                             map_location='cpu')['state_dict']
    assert not any('teacher' in k for k in state)
    assert 'temperature.theta' in state
    plain = MODELS.build(tiny_retinanet(num_classes=SHAPES_NUM_CLASSES))
    plain.load_state_dict({k: v for k, v in state.items()
                           if not k.startswith('temperature.')}, strict=True)


def test_exported_student_evaluates_with_tools_test(ctkd_run, tiny_shapes):
    """Export (the class inferred: RetinaNet), then tools/test.py on the
    exported config and weights: the run's own last validation, and per image the
    predictions of the distilled model."""
    out = str(ctkd_run['tmp'] / 'exported')
    info = export(last_checkpoint(ctkd_run['work']), out)
    assert info['dropped'] == ['temperature.theta']
    assert info['student_type'] == 'RetinaNet'
    exported = Config.fromfile(info['config'], import_custom_modules=False)
    assert exported.model.type == 'RetinaNet' and 'teacher_config' not in \
        exported.model
    work = ctkd_run['tmp'] / 'test'
    preds = str(work / 'preds.pkl')
    proc = run_tool('test', info['config'], info['checkpoint'], '--work-dir',
                    work, '--out', preds, cwd=ctkd_run['tmp'])
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    line = [x for x in log.splitlines() if 'coco/bbox_mAP:' in x][-1]
    metrics = {k: float(v) for k, v in
               re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', line)}
    assert ctkd_run['val']['coco/bbox_mAP_50'] > 0  # the equality can fail
    assert len(ctkd_run['val']) == 6 and metrics == ctkd_run['val']
    # per image: the exported student's boxes are the distilled model's
    with open(preds, 'rb') as f:
        dumped = {r['img_id']: r['pred_instances'] for r in pickle.load(f)}
    runner = ctkd_run['runner']
    model = runner.model
    model.eval()
    n = 0
    with torch.no_grad():
        for batch in runner.test_dataloader:
            for res in model.test_step(batch):
                pred = dumped[res.img_id]
                assert len(pred['scores']) == len(res.pred_instances) > 0
                assert torch.allclose(pred['scores'], res.pred_instances.scores,
                                      atol=1e-6)
                assert torch.allclose(pred['bboxes'], res.pred_instances.bboxes,
                                      atol=1e-3)
                n += 1
    assert n == len(dumped) == 4
