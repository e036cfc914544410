"""Mixed precision: the KD term and the temperature in float32 under autocast.

mmengine's ``AmpOptimWrapper`` runs the forward (student and teacher) under
autocast, so the RoI logits reach the temperature module and the KD loss in
fp16/bf16. Here CPU autocast with bfloat16 stands in for it (the only autocast
dtype on CPU; bf16 keeps 8 mantissa bits, fewer than fp16's 11, so it is the
harsher test of precision, fp16's overflow aside).

The detector tests run mmdet's RPN and RoI extractor under autocast: mmcv 2.1.0's
CUDA ``nms`` / ``RoIAlign`` take half precision, its CPU kernels float32 only, so
the fixture ``mmcv_cpu_ops_take_bf16`` lets the CPU ones behave like the CUDA ones
(compute in float32, return the input's dtype). Nothing of ctkd_det is patched.
"""
import sys

import pytest
import torch
import torch.nn as nn

from ctkd_det.models.losses import DKDLoss, KDLoss
from ctkd_det.models.temperature import (BaseTemperature, FixedTemperature,
                                         GlobalTemperature, InstanceTemperature,
                                         RLTemperature)
from ctkd_det.registry import MODELS

from _tiny import fake_batch, tiny_cascade_rcnn, tiny_kd, tiny_kd_single

BF16 = torch.bfloat16
N, C = 48, 5   # RoIs, logit columns (4 classes + background)


def autocast():
    return torch.autocast('cpu', dtype=BF16)


def bf16_inputs(seed=0):
    """Student and teacher logits ``(N, C)`` and a per-row T ``(N, 1)`` in
    ``[1, 21]``, all bf16 leaves, and labels ``(N,)`` with foreground and
    background rows."""
    g = torch.Generator().manual_seed(seed)
    s = (3 * torch.randn(N, C, generator=g)).to(BF16).requires_grad_()
    t = (3 * torch.randn(N, C, generator=g)).to(BF16)
    temp = (1 + 20 * torch.rand(N, 1, generator=g)).to(BF16).requires_grad_()
    labels = torch.randint(0, C, (N,), generator=g)
    labels[:4] = C - 1
    return s, t, temp, labels


LOSSES = {
    'kd': lambda: KDLoss(loss_weight=1.5),
    'dkd': lambda: DKDLoss(alpha=1.0, beta=0.5),
    'kd-fgbg': lambda: KDLoss(fg_weight=2.0, bg_weight=0.5),
}


@pytest.mark.parametrize('name', LOSSES)
def test_kd_loss_of_bf16_logits_is_the_float32_loss(name):
    loss_fn = LOSSES[name]()
    s16, t16, temp16, labels = bf16_inputs()
    with autocast():
        out = loss_fn(s16, t16, temp16, labels=labels)
    assert out.dtype == torch.float32

    # the same (bf16-rounded) values upcast, outside autocast: bit-identical
    s32 = s16.detach().float().requires_grad_()
    temp32 = temp16.detach().float().requires_grad_()
    ref = loss_fn(s32, t16.float(), temp32, labels=labels)
    assert torch.equal(out.detach(), ref.detach())

    # gradients reach the bf16 leaves, as the float32 gradients rounded to bf16
    out.backward()
    ref.backward()
    for g16, g32 in ((s16.grad, s32.grad), (temp16.grad, temp32.grad)):
        assert g16.dtype == BF16 and bool(g16.abs().sum() > 0)
        assert torch.equal(g16, g32.to(BF16))

    # why: against float64, the float32 loss is exact to ~1e-6, the same loss
    # computed in bf16 (the undecorated forward under autocast) is not
    with torch.no_grad():
        exact = loss_fn(s16.double(), t16.double(), temp16.double(),
                        labels=labels).item()
        with autocast():
            naive = type(loss_fn).forward.__wrapped__(
                loss_fn, s16, t16, temp16, labels=labels)
    assert naive.dtype == BF16
    f32_err = abs(out.item() - exact) / exact
    bf16_err = abs(naive.item() - exact) / exact
    assert f32_err < 1e-5
    assert bf16_err > 100 * f32_err and bf16_err > 1e-3


@pytest.mark.parametrize('name', LOSSES)
def test_kd_loss_without_rows_is_float32_under_autocast(name):
    s16, t16, temp16, labels = bf16_inputs()
    with autocast():
        out = LOSSES[name]()(s16[:0], t16[:0], temp16[:0], labels=labels[:0])
    assert out.dtype == torch.float32 and out.item() == 0.0
    out.backward()
    assert s16.grad.dtype == BF16 and not bool(s16.grad.any())


def _instance_temperature():
    torch.manual_seed(0)
    module = InstanceTemperature(num_classes=C, hidden_dims=(16, ))
    # random last layer: T depends on the logits (the zero init would not)
    nn.init.normal_(module.head.weight, std=0.5)
    return module


def _acting_rl_temperature():
    torch.manual_seed(0)
    module = RLTemperature(hidden_dims=(16, 16)).eval()
    module.acting = True      # eval: the policy's mean action, no rollout
    # random last actor layer: T depends on the state (the zero init would not)
    nn.init.normal_(module.agent.ppo.net.actor[-1].weight, std=0.5)
    return module


TEMPERATURES = {
    'fixed': lambda: FixedTemperature(4.0),
    'global': lambda: GlobalTemperature(),
    'instance': _instance_temperature,
    'rl-warmup': lambda: RLTemperature(hidden_dims=(16, 16)),
    'rl-acting': _acting_rl_temperature,
}


@pytest.mark.parametrize('name', TEMPERATURES)
def test_temperature_is_float32_under_autocast(name):
    module = TEMPERATURES[name]()
    s16, t16, _, _ = bf16_inputs()
    with autocast():
        temp = module(t16, s16)
    assert temp.dtype == torch.float32 and temp.shape == (N, 1)
    # what the module gives for the upcast logits outside autocast
    assert torch.equal(temp, module(t16.float(), s16.float()))
    if name in ('instance', 'rl-acting'):
        assert temp.unique().numel() > 1   # really a function of the logits


@pytest.mark.parametrize('name', ['global', 'instance'])
def test_learnable_temperature_gradients_under_autocast(name):
    """CTKD's gradient (through the reversal) reaches the temperature's float32
    parameters under autocast, the same as without it."""
    s16, t16, _, labels = bf16_inputs()
    grads = []
    for amp in (True, False):
        module = TEMPERATURES[name]()
        module.lambda_ = 1.0
        s = s16.detach().requires_grad_() if amp else \
            s16.detach().float().requires_grad_()
        t = t16 if amp else t16.float()
        with torch.autocast('cpu', dtype=BF16, enabled=amp):
            loss = KDLoss()(s, t, module(t, s), labels=labels)
        loss.backward()
        grads.append([p.grad for p in module.parameters()])
        assert all(g.dtype == torch.float32 and bool(torch.isfinite(g).all())
                   for g in grads[-1])
        assert any(bool(g.abs().sum() > 0) for g in grads[-1])
        assert s.grad.dtype == s.dtype
    for g_amp, g_ref in zip(*grads):
        torch.testing.assert_close(g_amp, g_ref, rtol=1e-6, atol=1e-7)


def test_temperature_subclass_implements_compute_not_forward():
    with pytest.raises(TypeError, match='compute'):
        class Bad(BaseTemperature):  # noqa: F841
            def forward(self, teacher_logits, student_logits):
                return teacher_logits.new_ones(len(teacher_logits), 1)


@pytest.fixture
def mmcv_cpu_ops_take_bf16(monkeypatch):
    """mmcv's CPU ``nms`` and ``RoIAlign`` in float32, returning the input's
    dtype, as its CUDA kernels do for half precision (see the module doc)."""
    import mmcv.ops  # noqa: F401  (the submodules below)
    nms_module = sys.modules['mmcv.ops.nms']
    roi_align_module = sys.modules['mmcv.ops.roi_align']
    nms, roi_align = nms_module.nms, roi_align_module.RoIAlign.forward

    def nms_any_dtype(boxes, scores, *args, **kwargs):
        dets, keep = nms(boxes.float(), scores.float(), *args, **kwargs)
        return dets.to(boxes.dtype), keep

    def roi_align_any_dtype(self, feats, rois):
        return roi_align(self, feats.float(), rois.float()).to(feats.dtype)

    # batched_nms looks `nms` up in its module by name
    monkeypatch.setattr(nms_module, 'nms', nms_any_dtype)
    monkeypatch.setattr(roi_align_module.RoIAlign, 'forward',
                        roi_align_any_dtype)


# Tolerance of the autocast step's loss_kd against the float32 step's on the
# same RoIs. The KD computation adds no error of its own (checked bit-exact
# first); what differs is the logits: student and teacher run in bf16, whose
# rounding (eps 2^-7 = 7.8e-3) perturbs each logit by a few eps relative
# (measured: |Δ| ≤ 0.006 on logits of magnitude ≤ 0.31). For T much larger than
# the logit gaps, T²·KL ≈ ½ Var_p(s - t) is quadratic in the gap, so its relative
# error is about twice the gaps': a few 1e-3 (measured 2.5e-3 KD, 4.0e-3 DKD).
# 2e-2 (≈ 2.5 eps) leaves room for other BLAS; a KD computed in bf16 misses by
# 470-1000% on the same step (measured), a bf16 T alone by up to 2^-8.
AMP_STEP_RTOL = 2e-2


@pytest.mark.parametrize('distill_loss', ['KDLoss', 'DKDLoss'])
def test_detector_loss_step_under_autocast(mmcv_cpu_ops_take_bf16,
                                           distill_loss):
    torch.manual_seed(0)
    model = MODELS.build(tiny_kd(distill_loss=dict(type=distill_loss)))
    model.train()
    model.temperature.lambda_ = 1.0
    inputs, samples = fake_batch()
    with autocast():
        losses = model.loss(inputs, samples)
    record = model.last_roi_record
    assert record.cls_score.dtype == BF16          # autocast did run
    for key in ('loss_kd', 'kd_temp', 'kd_temp_p10', 'kd_temp_p90'):
        assert losses[key].dtype == torch.float32, key
    loss_kd = losses['loss_kd']

    with torch.no_grad():
        # the detector's KD of this step's own bf16 logits, upcast, without
        # autocast: bit-identical
        with autocast():
            teacher16 = model.teacher_logits(inputs, record.rois)
        assert teacher16.dtype == BF16
        same = model.kd_losses(record.cls_score.float(), teacher16.float(),
                               record.labels)['loss_kd']
        assert torch.equal(loss_kd.detach(), same)
        # a float32 step on the same RoIs
        student32 = model.roi_head._bbox_forward(
            model.extract_feat(inputs), record.rois)['cls_score']
        teacher32 = model.teacher_logits(inputs, record.rois)
        assert student32.dtype == teacher32.dtype == torch.float32
        ref = model.kd_losses(student32, teacher32, record.labels)['loss_kd']
    assert loss_kd.item() == pytest.approx(ref.item(), rel=AMP_STEP_RTOL)

    # the backward reaches the temperature (float32) and the student
    sum(v if isinstance(v, torch.Tensor) else sum(v)
        for k, v in losses.items() if 'loss' in k).backward()
    theta = model.temperature.theta.grad
    assert theta.dtype == torch.float32 and bool(theta != 0)
    cls_w = model.roi_head.bbox_head.fc_cls.weight.grad
    assert cls_w is not None and bool(torch.isfinite(cls_w).all())


def test_cascade_stage_kd_terms_under_autocast(mmcv_cpu_ops_take_bf16):
    """Cascade R-CNN: every stage's KD term is float32 under autocast, and is
    exactly the stage-weighted KD of that stage's own bf16 logits (student
    record, teacher stage ``i`` on the student's stage-``i`` RoIs), upcast."""
    torch.manual_seed(0)
    model = MODELS.build(tiny_kd(student=tiny_cascade_rcnn()))
    model.train()
    model.temperature.lambda_ = 1.0
    inputs, samples = fake_batch()
    with autocast():
        losses = model.loss(inputs, samples)
    records = model.last_roi_records
    assert len(records) == 3
    weights = (1.0, 0.5, 0.25)
    with torch.no_grad(), autocast():
        feats = model.teacher_features(inputs)
        teacher16 = [model.teacher_logits(inputs, r.rois, i, feats=feats)
                     for i, r in enumerate(records)]
    for i, (record, t16) in enumerate(zip(records, teacher16)):
        assert record.cls_score.dtype == t16.dtype == BF16   # autocast ran
        for key in ('loss_kd', 'kd_temp', 'kd_temp_p10', 'kd_temp_p90'):
            assert losses[f's{i}.{key}'].dtype == torch.float32, (i, key)
        with torch.no_grad():
            same = model.kd_losses(record.cls_score.float(), t16.float(),
                                   record.labels)['loss_kd'] * weights[i]
        assert torch.equal(losses[f's{i}.loss_kd'].detach(), same), i
        assert same.item() > 0
    # every stage's term reaches the float32 temperature
    sum(losses[f's{i}.loss_kd'] for i in range(3)).backward()
    theta = model.temperature.theta.grad
    assert theta.dtype == torch.float32 and bool(theta != 0)


@pytest.mark.parametrize('build', [tiny_kd, tiny_kd_single],
                         ids=['two-stage', 'single-stage'])
def test_skipped_kd_term_is_float32_under_autocast(build):
    """Non-finite bf16 logits skip the KD term: a float32 zero (not bf16) that
    keeps the temperature in the graph with a zero float32 gradient."""
    torch.manual_seed(0)
    model = MODELS.build(build())
    s16, t16, _, _ = bf16_inputs()
    s16 = s16.detach().clone()
    s16[3, 1] = float('inf')
    with autocast():
        kd = model.kd_losses(s16, t16)
    assert model.kd_skipped_steps == 1
    for key in ('loss_kd', 'kd_temp', 'kd_temp_p10', 'kd_temp_p90'):
        assert kd[key].dtype == torch.float32 and kd[key].item() == 0.0, key
    kd['loss_kd'].backward()
    theta = model.temperature.theta.grad
    assert theta.dtype == torch.float32 and not bool(theta.any())


@pytest.mark.filterwarnings('ignore::FutureWarning',
                            'ignore:torch.cuda.amp.GradScaler is enabled')
def test_train_step_through_amp_optim_wrapper(mmcv_cpu_ops_take_bf16,
                                              monkeypatch):
    """mmengine 0.10.7's AmpOptimWrapper with ``dtype='bfloat16'`` on CPU.

    Its ``__init__`` asserts a GPU/NPU/MLU/MUSA device, so on CPU it cannot be
    built as is; the test lifts that one check. The rest is mmengine's own CPU
    path: its GradScaler disables itself without CUDA (bf16 needs no loss
    scaling), ``optim_context`` enters ``autocast(dtype=bfloat16)`` on CPU, and
    ``BaseModel.train_step`` runs the loss under it and steps the optimizer.
    """
    from mmengine.optim import build_optim_wrapper
    amp_module = sys.modules['mmengine.optim.optimizer.amp_optimizer_wrapper']
    monkeypatch.setattr(amp_module, 'is_cuda_available', lambda: True)

    torch.manual_seed(0)
    model = MODELS.build(tiny_kd())
    model.train()
    model.temperature.lambda_ = 1.0
    optim_wrapper = build_optim_wrapper(model, dict(
        type='AmpOptimWrapper', dtype='bfloat16',
        optimizer=dict(type='SGD', lr=1.0)))
    assert optim_wrapper.cast_dtype == BF16
    seen = {}

    def spy(module, args, kwargs, out):
        seen['in'] = [a.dtype for a in args]
        seen['out'] = out.dtype

    model.distill_loss.register_forward_hook(spy, with_kwargs=True)
    theta0 = model.temperature.theta.detach().clone()
    inputs, samples = fake_batch()
    images = [(120 + 50 * x).clamp(0, 255) for x in inputs]
    log_vars = model.train_step(dict(inputs=images, data_samples=samples),
                                optim_wrapper)
    # student and teacher logits in bf16 (autocast on), T and the loss float32
    assert seen == {'in': [BF16, BF16, torch.float32], 'out': torch.float32}
    assert torch.isfinite(log_vars['loss_kd']) and log_vars['loss_kd'] > 0
    assert log_vars['kd_temp'].item() == pytest.approx(15.62, abs=0.01)
    # the optimizer stepped the temperature with the KD gradient
    theta = model.temperature.theta.detach()
    assert torch.isfinite(theta) and not torch.equal(theta, theta0)
