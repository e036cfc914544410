"""KDTwoStageDetector: RoI alignment, teacher isolation, gradients, bad input."""
import copy

import pytest
import torch
from mmengine.runner import save_checkpoint

import ctkd_det  # noqa: F401
import ctkd_det.experiments.head_kd  # noqa: F401  (registers HeadKD...)
from ctkd_det.models import KDTwoStageDetector
from ctkd_det.models.recorders import RoIRecorder
from mmdet.registry import MODELS

from _tiny import (NUM_CLASSES, fake_batch, tiny_cascade_rcnn, tiny_faster_rcnn,
                   tiny_kd, tiny_mask_rcnn)
from conftest import assert_teacher_outside_module_tree, run_python


def _build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_kd(**kwargs))
    model.init_weights()
    return model


def _student_state(model):
    return {k: v for k, v in model.state_dict().items()
            if not k.startswith('temperature.')}


def _copy_student_into_teacher(model):
    model.teacher.load_state_dict(_student_state(model), strict=True)


@pytest.mark.parametrize('value', [1.0, 4.0, 15.0])
def test_teacher_equal_to_student_gives_zero_kd_loss(value):
    model = _build(temperature=dict(type='FixedTemperature', value=value))
    _copy_student_into_teacher(model)
    model.train()
    inputs, samples = fake_batch()
    losses = model.loss(inputs, samples)
    assert losses['loss_kd'].abs().item() < 1e-6
    assert losses['kd_temp'].item() == pytest.approx(value)
    # different teacher weights: the same RoIs now give a positive KD loss
    with torch.no_grad():
        for p in model.teacher.roi_head.bbox_head.parameters():
            p.add_(torch.randn_like(p) * 0.5)
    losses = model.loss(inputs, fake_batch()[1])
    assert losses['loss_kd'].item() > 1e-3


def test_teacher_scores_exactly_the_students_sampled_rois():
    model = _build()
    _copy_student_into_teacher(model)
    model.train()
    inputs, samples = fake_batch(seed=3)
    seen = {}
    orig = model.teacher_logits

    def spy(batch_inputs, rois, *args, **kwargs):
        seen['rois'] = rois
        return orig(batch_inputs, rois, *args, **kwargs)

    model.teacher_logits = spy
    captured = {}

    def rois_hook(module, args):
        captured.setdefault('rois', args[1])

    handle = model.roi_head.bbox_roi_extractor.register_forward_pre_hook(
        rois_hook)
    try:
        model.loss(inputs, samples)
    finally:
        handle.remove()
    # what the student's bbox head classified (captured again by an outer hook)
    assert torch.equal(seen['rois'], captured['rois'])
    record = model.last_roi_record
    assert torch.equal(record.rois, captured['rois'])
    assert record.cls_score.shape == (seen['rois'].size(0), NUM_CLASSES + 1)
    assert seen['rois'].size(0) > 0


def test_teacher_is_frozen_in_eval_and_outside_module_tree():
    assert_teacher_outside_module_tree(_build())


def test_kd_gradients_reach_student_and_reversed_temperature_only():
    model = _build()
    model.train()
    model.temperature.lambda_ = 1.0
    losses = model.loss(*fake_batch())
    losses['loss_kd'].backward()
    g = model.temperature.theta.grad
    assert g is not None and g.item() != 0
    assert model.roi_head.bbox_head.fc_cls.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    # λ = 0: temperature gets no gradient (before the curriculum starts)
    model.zero_grad()
    model.temperature.lambda_ = 0.0
    model.loss(*fake_batch())['loss_kd'].backward()
    assert model.temperature.theta.grad.item() == 0


def test_predict_is_student_only_and_weights_load_into_plain_faster_rcnn():
    model = _build()
    plain = MODELS.build(tiny_faster_rcnn())
    plain.load_state_dict(_student_state(model), strict=True)
    model.eval()
    plain.eval()
    inputs, samples = fake_batch()
    with torch.no_grad():
        a = model.predict(inputs, copy.deepcopy(samples))
        b = plain.predict(inputs, copy.deepcopy(samples))
    for x, y in zip(a, b):
        assert torch.equal(x.pred_instances.bboxes, y.pred_instances.bboxes)


def test_non_finite_logits_skip_kd_term():
    model = _build()
    s = torch.randn(5, NUM_CLASSES + 1)
    t = s.clone()
    t[2, 1] = float('nan')
    out = model.kd_losses(s, t)
    assert out['loss_kd'].item() == 0 and model.kd_skipped_steps == 1


def test_teacher_with_other_normalisation_sees_its_own_inputs():
    teacher = tiny_faster_rcnn(mean=[0., 0., 0.])
    teacher['data_preprocessor']['bgr_to_rgb'] = False
    model = _build(teacher=teacher)
    raw = torch.rand(1, 3, 8, 8) * 255
    s_pre, t_pre = model.data_preprocessor, model.teacher.data_preprocessor
    student_in = (raw.flip(1) - s_pre.mean) / s_pre.std
    expected = (raw - t_pre.mean) / t_pre.std
    assert torch.allclose(model._teacher_input(student_in), expected, atol=1e-4)
    assert _build()._teacher_input is None


def test_teacher_checkpoint_loads_strictly(tmp_path):
    src = MODELS.build(tiny_faster_rcnn())
    ckpt = tmp_path / 'teacher.pth'
    save_checkpoint(src.state_dict(), str(ckpt))
    model = _build(teacher_ckpt=str(ckpt))
    for k, v in src.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[k], v)
    # a checkpoint of another architecture is rejected with the key lists
    other = MODELS.build(tiny_faster_rcnn(base_channels=16))
    bad = tmp_path / 'other.pth'
    save_checkpoint({'backbone.x': torch.zeros(1), **other.state_dict()},
                    str(bad))
    with pytest.raises(RuntimeError, match='does not match') as err:
        _build(teacher_ckpt=str(bad))
    assert "unexpected keys 1 ['backbone.x']" in str(err.value)
    assert 'shape mismatches' in str(err.value)
    assert 'backbone.conv1.weight' in str(err.value)
    # a checkpoint missing part of the architecture (e.g. a backbone-only file)
    partial = tmp_path / 'partial.pth'
    save_checkpoint({k: v for k, v in src.state_dict().items()
                     if not k.startswith('roi_head.')}, str(partial))
    with pytest.raises(RuntimeError, match='does not match') as err:
        _build(teacher_ckpt=str(partial))
    n_roi = sum(k.startswith('roi_head.') for k in src.state_dict())
    assert f'missing keys {n_roi} [' in str(err.value)
    assert 'roi_head.bbox_head.fc_cls.weight' in str(err.value)
    assert 'unexpected keys 0 []; shape mismatches 0 []' in str(err.value)
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match='could not be read'):
        _build(teacher_ckpt=str(garbage))


def test_bad_configs_fail_with_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='teacher_ckpt not found'):
        _build(teacher_ckpt=str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='teacher_config file not found'):
        _build(teacher=str(tmp_path / 'missing.py'))
    with pytest.raises(ValueError, match='class counts differ'):
        _build(teacher=tiny_faster_rcnn(num_classes=NUM_CLASSES + 1))
    with pytest.raises(KeyError, match="unknown temperature type 'Nope'"):
        _build(temperature=dict(type='Nope'))
    with pytest.raises(FileNotFoundError, match='could not be resolved'):
        _build(teacher='mmdet::faster_rcnn/no-such-config.py')
    # RoI classifiers are softmax ones: a sigmoid KD loss is refused at build
    with pytest.raises(ValueError, match=r'softmax KD loss .*SigmoidKDLoss '
                                         r'\(sigmoid\)'):
        _build(distill_loss=dict(type='SigmoidKDLoss'))
    assert isinstance(_build(), KDTwoStageDetector)


@pytest.mark.parametrize('tiny', [tiny_faster_rcnn, tiny_cascade_rcnn,
                                  tiny_mask_rcnn])
def test_building_the_teacher_keeps_the_students_random_numbers(tiny):
    """init_distillation builds the teacher and the temperature module in a
    forked RNG: with the same seed, the distilled student gets the plain
    student's initial weights and leaves the global RNG where the plain build
    does (a bigger teacher makes no difference)."""
    def build(cfg):
        torch.manual_seed(0)
        model = MODELS.build(cfg)
        state = torch.get_rng_state()
        model.init_weights()
        return model, state

    plain, plain_rng = build(tiny())
    teacher = tiny(base_channels=16)  # more random numbers than the student
    kd, kd_rng = build(tiny_kd(student=tiny(), teacher=teacher,
                                temperature=dict(type='InstanceTemperature',
                                                 num_classes=NUM_CLASSES + 1)))
    assert kd.teacher.backbone.base_channels == 16
    kd_state = _student_state(kd)
    assert kd_state.keys() == plain.state_dict().keys()
    for k, v in plain.state_dict().items():
        assert torch.equal(kd_state[k], v), k
    assert torch.equal(kd_rng, plain_rng)


def test_teacher_config_from_mmdet_package_path():
    from ctkd_det.models.detectors.teacher import load_teacher_config
    cfg = load_teacher_config('mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py')
    assert cfg.type == 'FasterRCNN' and cfg.backbone.depth == 101


def test_kd_with_zero_weight_trains_exactly_like_the_plain_student():
    """Distillation must change training only through its loss: with the KD
    weight 0 the student's losses and weights follow the plain FasterRCNN's
    step for step (same init, same RoI sampling; the teacher's forward consumes
    no random numbers and touches no student state)."""
    plain_cfg = tiny_faster_rcnn()
    torch.manual_seed(0)
    plain = MODELS.build(plain_cfg)
    plain.init_weights()
    kd = _build(temperature=dict(type='FixedTemperature', value=4.0),
                distill_loss=dict(type='KDLoss', loss_weight=0.0))
    kd.load_state_dict(plain.state_dict(), strict=True)  # FixedT: no params
    runs = {}
    for name, model in (('plain', plain), ('kd', kd)):
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        trace = []
        for step in range(3):
            torch.manual_seed(100 + step)
            losses = model.loss(*fake_batch(seed=step))
            total = sum(sum(v) if isinstance(v, list) else v
                        for k, v in losses.items() if 'loss' in k)
            opt.zero_grad()
            total.backward()
            opt.step()
            trace.append(float(losses['loss_cls']))
        runs[name] = (trace, {k: v.clone() for k, v in
                              model.state_dict().items()})
    assert runs['kd'][0] == pytest.approx(runs['plain'][0], rel=1e-6, abs=1e-7)
    for k, v in runs['plain'][1].items():
        torch.testing.assert_close(runs['kd'][1][k], v, rtol=1e-5, atol=1e-6)


def test_head_kd_keeps_the_kd_gradient_in_the_bbox_head():
    """HeadKDTwoStageDetector: the same loss_kd value as KDTwoStageDetector,
    but its gradient stops at the RoI features (no backbone / neck / RPN
    gradient from KD), while the bbox head and the temperature still get it."""
    def kd_grads(detector_type):
        model = _build(type=detector_type)
        model.train()
        model.temperature.lambda_ = 1.0
        torch.manual_seed(7)  # same RoI sampling for both detectors
        losses = model.loss(*fake_batch(seed=5))
        losses['loss_kd'].backward()
        grads = {n: (p.grad.abs().sum().item() if p.grad is not None else 0.0)
                 for n, p in model.named_parameters()}
        return losses['loss_kd'].item(), grads

    full_loss, full = kd_grads('KDTwoStageDetector')
    head_loss, head = kd_grads('HeadKDTwoStageDetector')
    assert head_loss == pytest.approx(full_loss, rel=1e-6) and head_loss > 0
    trunk = [n for n in full if n.startswith(('backbone.', 'neck.'))]
    assert trunk and any(full[n] > 0 for n in trunk)  # plain KD reaches them
    assert all(head[n] == 0 for n in trunk)
    assert all(head[n] == 0 for n in head if n.startswith('rpn_head.'))
    for name in ('roi_head.bbox_head.fc_cls.weight',
                 'roi_head.bbox_head.shared_fcs.0.weight', 'temperature.theta'):
        assert head[name] > 0 and head[name] == pytest.approx(full[name],
                                                              rel=1e-4), name
    # not the regression branch: its output is not in the KD term
    assert head['roi_head.bbox_head.fc_reg.weight'] == 0


def test_head_kd_is_registered_only_by_its_own_module():
    """``import ctkd_det`` leaves the diagnostic out of the registry; a config
    adds ``ctkd_det.experiments.head_kd`` to its ``custom_imports``."""
    code = ("import ctkd_det\n"
            "from mmdet.registry import MODELS\n"
            "assert 'KDTwoStageDetector' in MODELS.module_dict\n"
            "assert 'HeadKDTwoStageDetector' not in MODELS.module_dict\n"
            "import ctkd_det.experiments.head_kd\n"
            "assert 'HeadKDTwoStageDetector' in MODELS.module_dict\n")
    done = run_python('-c', code)
    assert done.returncode == 0, done.stderr[-2000:]


def test_roi_recorder_records_targets_and_leaves_nothing_behind():
    """The recorder's rows line up (mmdet's own ``loss_cls`` and ``acc`` are
    the cross-entropy and accuracy of the recorded class scores against the
    recorded labels), its IoUs are those of the assignment, and its hooks and
    wrapper exist only inside its context: also when the step fails, and
    nested in another recorder's context (the detector's own), which then
    records the same."""
    model = _build()
    model.train()
    head = model.roi_head.bbox_head
    extractor = model.roi_head.bbox_roi_extractor
    recorder = RoIRecorder()
    inputs, samples = fake_batch(seed=1)

    def nothing_left():
        return 'loss_and_target' not in head.__dict__ and \
            not head._forward_hooks and not extractor._forward_pre_hooks

    torch.manual_seed(3)
    with recorder.record(model.roi_head) as outer:
        assert 'loss_and_target' in head.__dict__
        losses = model.loss(inputs, samples)
    assert nothing_left()
    r = outer.rois.size(0)
    assert r > 0 and outer.rois.shape == (r, 5)
    assert outer.cls_score.shape == (r, NUM_CLASSES + 1)
    assert outer.bbox_feats.shape[0] == r and outer.cls_score.requires_grad
    assert outer.labels.shape == outer.ious.shape == (r, )
    acc = (outer.cls_score.argmax(1) == outer.labels).float().mean() * 100
    assert acc.item() == pytest.approx(losses['acc'].item(), abs=1e-3)
    ce = torch.nn.functional.cross_entropy(outer.cls_score, outer.labels)
    assert ce.item() == pytest.approx(losses['loss_cls'].item(), rel=1e-5)
    fg = outer.labels < NUM_CLASSES
    assert fg.any() and (~fg).any() and outer.labels.min() >= 0
    assert torch.all(outer.ious[fg] >= 0.5 - 1e-6)
    assert torch.all(outer.ious[~fg] == 0)
    # the detector's own record of the same step: the same rows, no graph, no
    # RoI features kept
    inner = model.last_roi_record
    for name in ('rois', 'cls_score', 'labels', 'ious'):
        assert torch.equal(getattr(inner, name), getattr(outer, name)), name
    assert inner.bbox_feats is None and not inner.cls_score.requires_grad

    with pytest.raises(RuntimeError, match='boom'):
        with recorder.record(model.roi_head):
            raise RuntimeError('boom')
    assert nothing_left()


@pytest.mark.parametrize('loss_cfg', [
    dict(type='DKDLoss', alpha=1.0, beta=0.25),
    dict(type='KDLoss', fg_weight=1.0, bg_weight=0.0),
])
def test_label_aware_losses_get_the_sampled_rois_labels(loss_cfg):
    """The detector hands the sampled RoIs' labels (background = C, from the
    student's sampler) to the loss: its ``loss_kd`` equals the loss computed
    here from the recorded logits and mmdet's own targets."""
    import functools
    model = _build(temperature=dict(type='FixedTemperature', value=2.0),
                   distill_loss=loss_cfg)
    model.train()
    inputs, samples = fake_batch(seed=5)
    seen = {}
    orig = model.roi_head.bbox_head.loss_and_target

    @functools.wraps(orig)
    def spy(*args, **kwargs):  # mmdet's own targets of the same step
        out = orig(*args, **kwargs)
        seen['labels'] = out['bbox_targets'][0]
        return out

    model.roi_head.bbox_head.loss_and_target = spy
    losses = model.loss(inputs, samples)
    del model.roi_head.bbox_head.loss_and_target
    record = model.last_roi_record
    labels = seen['labels']
    assert torch.equal(record.labels, labels)
    assert (labels == NUM_CLASSES).any() and (labels < NUM_CLASSES).any()
    with torch.no_grad():
        t_logits = model.teacher_logits(inputs, record.rois)
    s_logits = record.cls_score
    expected = MODELS.build(loss_cfg)(s_logits, t_logits, 2.0, labels)
    assert torch.allclose(losses['loss_kd'].detach(), expected, rtol=1e-5)
    # and it is not the label-blind KD loss
    blind = MODELS.build(dict(type='KDLoss'))(s_logits, t_logits, 2.0)
    assert not torch.allclose(expected, blind, rtol=1e-3)
