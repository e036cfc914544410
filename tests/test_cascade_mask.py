"""KDTwoStageDetector with Cascade R-CNN and Mask R-CNN students.

Cascade: stage i of the teacher scores the RoIs stage i of the student sampled
(its own features, its own ``_bbox_forward(i, ...)``), one KD term per stage,
``s{i}.loss_kd`` weighted by ``stage_loss_weights``; the RoI recorder records
every stage; stage-count / class mismatches fail at build; RLKD's agent gets
every distilled stage's RoIs; a short CTKD-global run through mmengine's Runner
on tiny shapes data (curriculum, temperature, teacher frozen, student exported
to a plain ``CascadeRCNN`` and evaluated by tools/test.py).
Mask R-CNN: the mask branch trains next to KD on the bbox branch, and the
student exports to a plain ``MaskRCNN``.
"""
import copy
import math
import os.path as osp
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner, save_checkpoint
from mmengine.runner.checkpoint import _load_checkpoint

import ctkd_det  # noqa: F401
from ctkd_det.apis import last_checkpoint, read_scalars
from ctkd_det.apis.export import export
from ctkd_det.models.recorders import RoIRecorder
from ctkd_det.models.utils import bbox_stages
from mmdet.registry import MODELS

from _kd_runs import NUM_CLASSES as SHAPES_CLASSES, save_tiny_teacher, \
    tiny_ctkd_cfg
from _tiny import (CASCADE_IOUS, NUM_CLASSES, fake_batch, tiny_cascade_rcnn,
                   tiny_faster_rcnn, tiny_kd, tiny_mask_rcnn)
from conftest import CONFIGS, run_tool

pytestmark = pytest.mark.usefixtures('one_torch_thread')

CASCADE_CTKD = osp.join(CONFIGS, 'shapes',
                        'cascade-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py')
WEIGHTS = (1.0, 0.5, 0.25)  # tiny_cascade_rcnn's stage_loss_weights
TEMP_KEYS = ('kd_temp', 'kd_temp_p10', 'kd_temp_p90')


def _build(student=None, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_kd(student=student or tiny_cascade_rcnn(),
                                 **kwargs))
    model.init_weights()
    return model


def _total(losses):
    return sum(sum(v) if isinstance(v, list) else v
               for k, v in losses.items() if 'loss' in k)


def _grad(param):
    return 0.0 if param.grad is None else param.grad.abs().sum().item()


# -- Cascade R-CNN: the distillation step -----------------------------------------
def test_teacher_stage_i_scores_the_students_stage_i_rois():
    """The teacher's RoI head runs ``_bbox_forward(i, feats, rois_i)`` on the
    RoIs stage i of the student sampled (caught by independent hooks), with
    the features of one backbone pass per step; each ``s{i}.loss_kd`` is the
    KD loss of the student's stage-i logits against exactly that, times the
    stage weight."""
    model = _build(temperature=dict(type='FixedTemperature', value=2.0))
    model.train()
    assert model._teacher_input is None  # same normalisation as the student
    inputs, samples = fake_batch(seed=3)
    captured, calls, passes = {}, [], []

    def catch(stage):
        def hook(module, args):  # returns None: the inputs stay as they are
            captured.setdefault(stage, args[1])
        return hook

    handles = [ext.register_forward_pre_hook(catch(i))
               for i, (ext, _) in enumerate(bbox_stages(model.roi_head))]
    extract = model.teacher.extract_feat
    bbox_forward = model.teacher.roi_head._bbox_forward

    def counted(x):
        passes.append(1)
        return extract(x)

    def spied(stage, x, rois):
        out = bbox_forward(stage, x, rois)
        calls.append((stage, rois, out['cls_score']))
        return out

    model.teacher.extract_feat = counted
    model.teacher.roi_head._bbox_forward = spied
    try:
        torch.manual_seed(1)
        losses = model.loss(inputs, samples)
    finally:
        for h in handles:
            h.remove()
        del model.teacher.extract_feat, model.teacher.roi_head._bbox_forward
    assert len(passes) == 1
    assert [c[0] for c in calls] == [0, 1, 2]
    records = model.last_roi_records
    assert len(records) == len(captured) == 3
    # the stages classify different (refined) boxes
    assert not torch.equal(captured[0], captured[1])
    assert not torch.equal(captured[1], captured[2])
    kd = MODELS.build(dict(type='KDLoss'))
    with torch.no_grad():
        feats = model.teacher.extract_feat(inputs)
        for i, (_, rois, t_logits) in enumerate(calls):
            assert torch.equal(rois, captured[i])
            assert torch.equal(records[i].rois, captured[i])
            direct = model.teacher.roi_head._bbox_forward(
                i, feats, captured[i])['cls_score']
            assert torch.equal(t_logits, direct)
            # which differs from another stage's teacher head on these RoIs
            other = model.teacher.roi_head._bbox_forward(
                (i + 1) % 3, feats, captured[i])['cls_score']
            assert not torch.allclose(other, direct, rtol=1e-2)
            expected = kd(records[i].cls_score, direct, 2.0)
            assert losses[f's{i}.loss_kd'].item() == pytest.approx(
                WEIGHTS[i] * expected.item(), rel=1e-5)
            assert losses[f's{i}.kd_temp'].item() == pytest.approx(2.0)


def test_stage_kd_terms_are_named_weighted_and_train_their_stage():
    """``s{i}.loss_kd`` and ``s{i}.kd_temp*`` (mmdet's cascade naming, no plain
    ``loss_kd``); the shared temperature gives every stage the same global T
    and gets the reversed gradient; with ``kd_stages=[2]`` only stage 2 is
    distilled and its KD gradient leaves the other stages' heads alone."""
    model = _build()
    model.train()
    model.temperature.lambda_ = 1.0
    losses = model.loss(*fake_batch())
    kd_keys = {k for k in losses if 'kd' in k}
    assert kd_keys == {f's{i}.{k}' for i in range(3)
                       for k in ('loss_kd',) + TEMP_KEYS}
    assert {f's{i}.loss_cls' for i in range(3)} <= set(losses)
    temps = {losses[f's{i}.kd_temp'].item() for i in range(3)}
    assert len(temps) == 1  # one global temperature module for all stages
    sum(losses[f's{i}.loss_kd'] for i in range(3)).backward()
    heads = [head for _, head in bbox_stages(model.roi_head)]
    assert all(_grad(h.fc_cls.weight) > 0 for h in heads)
    assert model.temperature.theta.grad.item() != 0
    assert all(p.grad is None for p in model.teacher.parameters())

    last = _build(kd_stages=[2])
    last.train()
    losses = last.loss(*fake_batch())
    assert {k for k in losses if 'kd' in k} == \
        {f's2.{k}' for k in ('loss_kd',) + TEMP_KEYS}
    losses['s2.loss_kd'].backward()
    heads = [head for _, head in bbox_stages(last.roi_head)]
    assert _grad(heads[2].fc_cls.weight) > 0
    assert _grad(heads[0].fc_cls.weight) == _grad(heads[1].fc_cls.weight) == 0
    # the record the temperature module saw: stage 2's
    assert torch.equal(last.last_roi_record.rois, last.last_roi_records[2].rois)


def test_cascade_kd_with_zero_weight_trains_exactly_like_plain_cascade_rcnn():
    """The per-stage recording and the teacher change nothing in the student's
    own path: with KD weight 0 losses and weights follow a plain CascadeRCNN."""
    torch.manual_seed(0)
    plain = MODELS.build(tiny_cascade_rcnn())
    plain.init_weights()
    kd = _build(temperature=dict(type='FixedTemperature', value=4.0),
                distill_loss=dict(type='KDLoss', loss_weight=0.0))
    kd.load_state_dict(plain.state_dict(), strict=True)
    runs = {}
    for name, model in (('plain', plain), ('kd', kd)):
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
        trace = []
        for step in range(3):
            torch.manual_seed(100 + step)
            losses = model.loss(*fake_batch(seed=step))
            opt.zero_grad()
            _total(losses).backward()
            opt.step()
            trace += [float(losses[f's{i}.loss_cls']) for i in range(3)]
        runs[name] = (trace, {k: v.clone() for k, v in
                              model.state_dict().items()})
    assert runs['kd'][0] == pytest.approx(runs['plain'][0], rel=1e-6, abs=1e-7)
    for k, v in runs['plain'][1].items():
        torch.testing.assert_close(runs['kd'][1][k], v, rtol=1e-5, atol=1e-6)


def test_stage_and_class_mismatches_fail_at_build():
    with pytest.raises(ValueError, match='stage counts differ') as err:
        _build(teacher=tiny_faster_rcnn())
    assert '1 bbox stage(s), the student\'s 3' in str(err.value)
    with pytest.raises(ValueError, match='stage counts differ'):
        _build(teacher=tiny_cascade_rcnn(num_stages=2))
    with pytest.raises(ValueError, match='stage counts differ'):
        _build(student=tiny_faster_rcnn(), teacher=tiny_cascade_rcnn())
    teacher = tiny_cascade_rcnn()
    teacher.roi_head.bbox_head[1].num_classes = NUM_CLASSES + 1
    with pytest.raises(ValueError, match='class counts differ at stage 1'):
        _build(teacher=teacher)
    for bad in ([3], [], [0, 0], 'all', [True]):
        with pytest.raises(ValueError, match='kd_stages'):
            _build(kd_stages=bad)
    with pytest.raises(ValueError, match='kd_stages'):
        _build(student=tiny_faster_rcnn(), kd_stages=[1])


def test_stage_mismatch_fails_before_training(tiny_shapes, tiny_teacher,
                                              tmp_path):
    """A Faster R-CNN teacher (config and checkpoint) for the Cascade shapes
    config: Runner.from_cfg (building the model) refuses it, before any
    weights are loaded or any step runs."""
    cfg = tiny_ctkd_cfg(tiny_shapes, tmp_path / 'work', tiny_teacher,
                        config=CASCADE_CTKD, tiny=tiny_cascade_rcnn)
    cfg.model.teacher_config = tiny_faster_rcnn(num_classes=SHAPES_CLASSES)
    with pytest.raises(ValueError, match='stage counts differ'):
        Runner.from_cfg(cfg)
    assert not (tmp_path / 'work' / 'last_checkpoint').exists()


def test_roi_recorder_records_every_cascade_stage():
    """One record per stage whose rows line up with mmdet's own stage losses
    (``s{i}.loss_cls`` = stage weight x CE of the recorded scores and labels,
    ``s{i}.acc``), positives at the stage's IoU threshold; hooks and wrappers
    gone afterwards; ``record`` (single stage) refuses a cascade."""
    model = _build()
    model.train()
    recorder = RoIRecorder()
    torch.manual_seed(3)
    with recorder.record_stages(model.roi_head) as records:
        losses = model.loss(*fake_batch(seed=1))
    for ext, head in bbox_stages(model.roi_head):
        assert 'loss_and_target' not in head.__dict__
        assert not head._forward_hooks and not ext._forward_pre_hooks
    assert len(records) == 3
    for i, r in enumerate(records):
        n = r.rois.size(0)
        assert n > 0 and r.cls_score.shape == (n, NUM_CLASSES + 1)
        assert r.labels.shape == r.ious.shape == (n,)
        ce = F.cross_entropy(r.cls_score, r.labels)
        assert WEIGHTS[i] * ce.item() == pytest.approx(
            losses[f's{i}.loss_cls'].item(), rel=1e-5)
        acc = (r.cls_score.argmax(1) == r.labels).float().mean() * 100
        assert acc.item() == pytest.approx(losses[f's{i}.acc'].item(),
                                           abs=1e-3)
        fg = r.labels < NUM_CLASSES
        assert fg.any() and torch.all(r.ious[fg] >= CASCADE_IOUS[i] - 1e-6)
        assert torch.all(r.ious[~fg] == 0)
        # the detector's own record of the same step
        own = model.last_roi_records[i]
        assert torch.equal(own.labels, r.labels) and own.bbox_feats is None
    with pytest.raises(ValueError, match='record_stages'):
        with recorder.record(model.roi_head):
            pass
    faster = MODELS.build(tiny_faster_rcnn())
    with recorder.record_stages(faster.roi_head) as records:
        assert len(records) == 1


def test_rlkd_agent_gets_every_distilled_stages_rois():
    """RLTemperature on a cascade: one batch of transitions per stage; the
    detector's ``last_roi_record`` holds the same rows in the same order (the
    stages' records one after the other), so the agent uses their labels and
    IoUs (its quality differs from the teacher-confidence fallback)."""
    model = _build(temperature=dict(type='RLTemperature', hidden_dims=(16,)))
    model.train()
    agent = model.temperature.agent
    model.temperature.acting = True
    batches = []
    for labelled in (True, False):
        agent.begin_step()
        torch.manual_seed(5)  # the same RoIs in both steps
        model.loss(*fake_batch(seed=2))
        record = model.last_roi_record
        sizes = [r.rois.size(0) for r in model.last_roi_records]
        assert [s['states'].size(0) for s in agent._step] == sizes
        for name in ('rois', 'cls_score', 'labels', 'ious'):
            expected = torch.cat([getattr(r, name)
                                  for r in model.last_roi_records])
            assert torch.equal(getattr(record, name), expected), name
        assert record.labels.numel() == sum(sizes)
        batches.append(agent.end_step(record.labels, record.ious)
                       if labelled else agent.end_step())
    assert batches[0]['states'].size(0) == sum(sizes)
    assert torch.equal(batches[0]['states'], batches[1]['states'])
    assert not torch.allclose(batches[0]['quality'], batches[1]['quality'])


# -- Cascade R-CNN: a CTKD run through mmengine's Runner ---------------------------
EPOCHS, LOOPS = 4, 8  # 4 iterations per epoch: λ ramps over the first 2 epochs


@pytest.fixture(scope='module')
def cascade_run(tiny_shapes, tmp_path_factory):
    """The Cascade shapes CTKD-global config with tiny Cascade R-CNNs: 16
    steps (a few seconds), validated after every epoch."""
    tmp = tmp_path_factory.mktemp('cascade')
    teacher = save_tiny_teacher(tmp / 'teacher.pth', tiny=tiny_cascade_rcnn)
    work = str(tmp / 'work')
    cfg = tiny_ctkd_cfg(tiny_shapes, work, teacher, epochs=EPOCHS,
                        loops=LOOPS, config=CASCADE_CTKD,
                        tiny=tiny_cascade_rcnn)
    runner = Runner.from_cfg(cfg)
    runner.train()
    scalars = read_scalars(work)
    val = [r for r in scalars if 'coco/bbox_mAP' in r][-1]
    return dict(tmp=tmp, work=work, cfg=cfg, runner=runner, teacher=teacher,
                train=[r for r in scalars if 's0.loss_kd' in r],
                val={k: v for k, v in val.items() if k.startswith('coco/')})


def test_cascade_run_follows_curriculum_and_moves_temperature(cascade_run):
    train = cascade_run['train']
    assert [r['iter'] for r in train] == list(range(1, 4 * EPOCHS + 1))
    t0 = 1 + 20 * torch.sigmoid(torch.tensor(1.0)).item()
    for r in train:
        step = r['iter'] - 1
        assert r['lambda'] == pytest.approx(
            (1 - math.cos(math.pi * min(step, LOOPS) / LOOPS)) / 2)
        assert 'loss_kd' not in r
        for i in range(3):
            assert math.isfinite(r[f's{i}.loss_kd']) and r[f's{i}.loss_kd'] >= 0
            # one temperature module: every stage used the same T
            assert r[f's{i}.kd_temp'] == r['s0.kd_temp']
        assert 1.0 <= r['s0.kd_temp'] <= 21.0
    assert all(any(r[f's{i}.loss_kd'] > 0 for r in train) for i in range(3))
    # iteration 1 ran at λ = 0: T still at its start in iteration 2
    assert train[0]['s0.kd_temp'] == pytest.approx(t0, rel=1e-5)
    assert train[1]['s0.kd_temp'] == pytest.approx(t0, rel=1e-5)
    assert train[-1]['s0.kd_temp'] != pytest.approx(t0, rel=1e-2)
    theta = cascade_run['runner'].model.temperature.theta.item()
    assert theta != pytest.approx(1.0, abs=1e-3)


def test_cascade_teacher_frozen_and_outside_the_checkpoint(cascade_run):
    model = cascade_run['runner'].model
    assert not model.teacher.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    saved = _load_checkpoint(cascade_run['teacher'], map_location='cpu')
    saved = saved.get('state_dict', saved)
    assert set(saved) == set(model.teacher.state_dict())
    for k, v in model.teacher.state_dict().items():  # unchanged by training
        assert torch.equal(v, saved[k]), k
    state = _load_checkpoint(last_checkpoint(cascade_run['work']),
                             map_location='cpu')['state_dict']
    assert not any('teacher' in k for k in state)
    assert 'temperature.theta' in state
    plain = MODELS.build(tiny_cascade_rcnn(num_classes=SHAPES_CLASSES))
    assert type(plain).__name__ == 'CascadeRCNN'
    plain.load_state_dict({k: v for k, v in state.items()
                           if not k.startswith('temperature.')}, strict=True)


def test_cascade_student_exports_and_tools_test_evaluates_it(cascade_run,
                                                             tmp_path):
    """The exported student (no student_type given) is a plain CascadeRCNN
    predicting what the distilled model predicts; tools/test.py evaluates it
    to the run's last validation."""
    # the class is inferred from the CascadeRoIHead; verify: strict load
    info = export(last_checkpoint(cascade_run['work']), str(tmp_path / 'out'))
    assert info['dropped'] == ['temperature.theta']
    assert info['student_type'] == 'CascadeRCNN'
    cfg = Config.fromfile(info['config'], import_custom_modules=False)
    assert cfg.model.type == 'CascadeRCNN' and 'teacher_config' not in cfg.model
    plain = MODELS.build(cfg.model)
    plain.load_state_dict(torch.load(info['checkpoint'], map_location='cpu',
                                     weights_only=True)['state_dict'],
                          strict=True)
    model = cascade_run['runner'].model
    model.eval()
    plain.eval()
    inputs, samples = fake_batch(size=96, seed=4)
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))
        theirs = plain.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)

    proc = run_tool('test', info['config'], info['checkpoint'], '--work-dir',
                    tmp_path / 'test', cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'unexpected key' not in out.lower() and 'missing key' not in out.lower()
    lines = [line for line in out.splitlines() if 'coco/bbox_mAP:' in line]
    assert lines, out[-3000:]
    metrics = {k: float(v) for k, v in
               re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', lines[-1])}
    expected = cascade_run['val']
    assert expected['coco/bbox_mAP_50'] > 0 and metrics == expected


# -- Mask R-CNN -----------------------------------------------------------------
def test_mask_rcnn_mask_branch_trains_next_to_bbox_kd():
    """``loss_mask`` is present and finite and trains the mask head; KD is on
    the bbox branch: its gradient reaches the bbox classifier and the
    temperature, not the mask head."""
    model = _build(student=tiny_mask_rcnn())
    model.train()
    model.temperature.lambda_ = 1.0
    assert model.roi_head.with_mask and model.teacher.roi_head.with_mask
    losses = model.loss(*fake_batch(masks=True))
    for key in ('loss_mask', 'loss_kd', 'loss_cls'):
        value = losses[key]
        assert torch.isfinite(value).all() and value.sum().item() > 0, key
    assert not any(k.startswith('s0.') for k in losses)
    losses['loss_kd'].backward()
    mask_params = list(model.roi_head.mask_head.parameters())
    assert all(_grad(p) == 0 for p in mask_params)
    assert _grad(model.roi_head.bbox_head.fc_cls.weight) > 0
    assert model.temperature.theta.grad.item() != 0
    model.zero_grad()
    _total(model.loss(*fake_batch(masks=True))).backward()
    mask_head = model.roi_head.mask_head
    assert _grad(mask_head.conv_logits.weight) > 0
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in mask_params)
    assert all(p.grad is None for p in model.teacher.parameters())


def test_mask_rcnn_student_exports_to_plain_mask_rcnn(tmp_path):
    """tools/export_student.py without --student-type: a plain MaskRCNN config
    (inferred from the mask_head) whose model loads the student weights
    strictly and predicts the distilled model's boxes and masks."""
    model = _build(student=tiny_mask_rcnn())
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.02)
    _total(model.loss(*fake_batch(masks=True))).backward()
    opt.step()  # weights away from their initialisation
    ckpt = str(tmp_path / 'kd.pth')
    save_checkpoint(dict(state_dict=model.state_dict(), meta=dict(epoch=1)),
                    ckpt)
    cfg_path = str(tmp_path / 'kd_config.py')
    Config(dict(default_scope='mmdet',
                model=tiny_kd(student=tiny_mask_rcnn(), kd_stages=[0]),
                custom_imports=dict(imports=['ctkd_det'],
                                    allow_failed_imports=False))).dump(cfg_path)
    out = tmp_path / 'out'
    proc = run_tool('export_student', ckpt, out, '--config', cfg_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cfg = Config.fromfile(str(out / 'student_config.py'),
                          import_custom_modules=False)
    assert cfg.model.type == 'MaskRCNN' and 'custom_imports' not in cfg
    assert cfg.model.roi_head.mask_head == tiny_mask_rcnn().roi_head.mask_head
    assert not {'teacher_config', 'temperature', 'kd_stages'} & set(cfg.model)
    plain = MODELS.build(cfg.model)
    weights = torch.load(str(out / 'student.pth'), map_location='cpu',
                         weights_only=True)['state_dict']
    plain.load_state_dict(weights, strict=True)
    model.eval()
    plain.eval()
    inputs, samples = fake_batch(seed=6)
    with torch.no_grad():
        ours = model.predict(inputs, copy.deepcopy(samples))
        theirs = plain.predict(inputs, copy.deepcopy(samples))
    for a, b in zip(ours, theirs):
        assert len(a.pred_instances) > 0
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.masks, b.pred_instances.masks)
