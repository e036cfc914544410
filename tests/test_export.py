"""Student export (ctkd_det.apis.export; CLI tools/export_student.py) end to end:
a short CTKD run on tiny shapes data, export through the CLI, then mmengine's
Runner (``runner.test()``) and mmdet's ``DetInferencer`` use the exported student
in a python process in which ``ctkd_det`` cannot be imported. And the student's
mmdet class, inferred from its heads (tiny and COCO configs) or given.
(Cascade R-CNN and RetinaNet runs are exported without ``student_type`` in
test_cascade_mask.py and test_kd_single_stage.py.)"""
import json
import os
import os.path as osp
import re
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from ctkd_det.apis import last_checkpoint, read_scalars
from ctkd_det.apis.export import export, infer_student_type, student_config
from ctkd_det.datasets import SHAPES_CLASSES
from ctkd_det.models.detectors.teacher import load_teacher_config

from _kd_runs import tiny_ctkd_cfg
from _tiny import (tiny_atss, tiny_cascade_rcnn, tiny_faster_rcnn, tiny_fcos,
                   tiny_gfl, tiny_kd, tiny_kd_single, tiny_mask_rcnn,
                   tiny_retinanet)
from conftest import REPO, TOOLS, free_port, run_python, run_tool, tool_env

pytestmark = pytest.mark.usefixtures('one_torch_thread')

DIST_TEST = osp.join(TOOLS, 'dist_test.sh')
EPOCHS = 6
KD_KEYS = ('teacher_config', 'teacher_ckpt', 'temperature', 'distill_loss',
           'eval_teacher')

# Runs in a fresh interpreter: any import of ctkd_det fails.
NO_CTKD = textwrap.dedent('''
    import importlib.abc, json, sys

    class BlockCtkd(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == 'ctkd_det' or name.startswith('ctkd_det.'):
                raise ImportError('ctkd_det is blocked in this process')
            return None

    sys.meta_path.insert(0, BlockCtkd())
    cfg_path, ckpt, work_dir, images, out = sys.argv[1:6]

    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(cfg_path)
    cfg.work_dir = work_dir
    cfg.load_from = ckpt
    metrics = Runner.from_cfg(cfg).test()

    from mmdet.apis import DetInferencer
    inferencer = DetInferencer(model=cfg_path, weights=ckpt, device='cpu')
    preds = inferencer(json.loads(images), return_vis=False, no_save_vis=True,
                       no_save_pred=True)['predictions']
    try:
        import ctkd_det  # noqa: F401
        blocked = False
    except ImportError:
        blocked = True
    json.dump(dict(metrics=metrics, preds=preds, blocked=blocked,
                   loaded=sorted(m for m in sys.modules
                                 if m.split('.')[0] == 'ctkd_det'),
                   classes=list(inferencer.model.dataset_meta['classes'])),
              open(out, 'w'))
''')


@pytest.fixture(scope='module')
def exported(tiny_shapes, tiny_teacher, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('export')
    work = str(tmp / 'ctkd')
    # 6 epochs (24 steps, a few seconds): enough for a mAP above 0 at
    # CocoMetric's 3 decimals, so that "same mAP" below can fail
    cfg = tiny_ctkd_cfg(tiny_shapes, work, tiny_teacher, epochs=EPOCHS)
    runner = Runner.from_cfg(cfg)
    runner.train()
    ckpt = last_checkpoint(work)
    out = str(tmp / 'exported')
    proc = run_tool('export_student', ckpt, out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    val = [r for r in read_scalars(work) if 'coco/bbox_mAP' in r][-1]
    return dict(tmp=tmp, data=tiny_shapes, work=work, ckpt=ckpt, out=out,
                cfg=cfg, runner=runner, val=val)


def test_student_checkpoint_holds_only_student_weights(exported):
    # plain torch, weights_only: no allowlist (ctkd_det's patch only covers
    # mmengine's loader) is needed for this file
    saved = torch.load(osp.join(exported['out'], 'student.pth'),
                       map_location='cpu', weights_only=True)
    assert set(saved) == {'meta', 'state_dict'}
    keys = set(saved['state_dict'])
    assert not any(k.startswith(('temperature.', 'teacher.')) for k in keys)
    full = exported['runner'].model.state_dict()
    assert keys == {k for k in full if not k.startswith('temperature.')}
    for k in keys:
        assert torch.equal(saved['state_dict'][k], full[k]), k
    meta = saved['meta']
    assert tuple(meta['dataset_meta']['classes']) == SHAPES_CLASSES
    assert meta['epoch'] == EPOCHS and meta['exported_from'] == exported['ckpt']


def test_student_config_is_plain_mmdet(exported):
    cfg = Config.fromfile(osp.join(exported['out'], 'student_config.py'),
                          import_custom_modules=False)
    assert cfg.model.type == 'FasterRCNN'
    assert not set(KD_KEYS) & set(cfg.model)
    assert 'custom_imports' not in cfg
    hooks = [h['type'] for h in cfg.get('custom_hooks', [])] + \
        [h['type'] for h in cfg.default_hooks.values()]
    for ctkd_hook in ('CurriculumTemperatureHook', 'DistillDataCheckHook',
                      'RngStateHook'):
        assert ctkd_hook not in hooks
    assert 'CheckpointHook' in hooks  # mmdet's own hooks stay
    assert 'ctkd_det' not in cfg.pretty_text
    assert 'temperature' not in cfg.optim_wrapper.get('paramwise_cfg', {}).get(
        'custom_keys', {})
    # the student architecture is unchanged
    assert cfg.model.backbone == exported['cfg'].model.backbone
    assert cfg.model.roi_head == exported['cfg'].model.roi_head


def _predictions_of_distilled_model(exported, images):
    """The KD detector (training config + full checkpoint) on the images."""
    from mmdet.apis import DetInferencer
    cfg_path = str(exported['tmp'] / 'train_cfg.py')
    exported['cfg'].dump(cfg_path)
    inferencer = DetInferencer(model=cfg_path, weights=exported['ckpt'],
                               device='cpu')
    assert type(inferencer.model).__name__ == 'KDTwoStageDetector'
    return inferencer(images, return_vis=False, no_save_vis=True,
                      no_save_pred=True)['predictions']


def test_exported_student_runs_without_ctkd_det(exported, tmp_path):
    val_dir = osp.join(exported['data'], 'val')
    images = [osp.join(val_dir, f) for f in sorted(os.listdir(val_dir))]
    result = str(tmp_path / 'result.json')
    env = {k: v for k, v in tool_env().items() if k != 'PYTHONPATH'}
    proc = run_python('-c', NO_CTKD,
                      osp.join(exported['out'], 'student_config.py'),
                      osp.join(exported['out'], 'student.pth'), tmp_path / 'test',
                      json.dumps(images), result, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    out = json.load(open(result))
    assert out['blocked'] and out['loaded'] == []
    # runner.test() of the export == the distillation run's last validation
    expected = {k: v for k, v in exported['val'].items() if k.startswith('coco/')}
    assert expected['coco/bbox_mAP'] > 0 and expected['coco/bbox_mAP_50'] > 0
    assert out['metrics'] == expected
    # DetInferencer: the class names come from the checkpoint's dataset_meta,
    # the predictions are the distilled model's (student path)
    assert tuple(out['classes']) == SHAPES_CLASSES
    refs = _predictions_of_distilled_model(exported, images)
    assert len(out['preds']) == len(refs) == 4
    for pred, ref in zip(out['preds'], refs):
        assert len(pred['scores']) > 0
        assert pred['labels'] == ref['labels']
        assert pred['scores'] == pytest.approx(ref['scores'], abs=1e-6)
        assert torch.allclose(torch.tensor(pred['bboxes']),
                              torch.tensor(ref['bboxes']), rtol=0, atol=1e-4)


def test_exported_student_in_two_processes_with_dist_test_sh(exported,
                                                             tmp_path):
    """tools/dist_test.sh: 2 gloo processes (torchrun), each evaluating 2 of
    the 4 val images; CocoMetric gathers them into the single-process mAP."""
    env = tool_env(PYTHON=sys.executable, PORT=str(free_port()))
    proc = subprocess.run(
        ['bash', DIST_TEST, osp.join(exported['out'], 'student_config.py'),
         osp.join(exported['out'], 'student.pth'), '2', '--work-dir',
         str(tmp_path)], capture_output=True, text=True, cwd=REPO, env=env,
        timeout=300)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert 'Distributed launcher: pytorch' in log and 'GPU number: 2' in log, \
        log[-3000:]  # mmengine's runtime info: 2 processes (CPU: no GPU)
    line = [x for x in log.splitlines() if 'Epoch(test)' in x and
            'coco/bbox_mAP:' in x]
    assert len(line) == 1, log[-3000:]  # rank 0 logs the gathered metrics
    assert '[1/1]' in line[0]  # 1 batch of 2 images on each rank
    metrics = {k: float(v) for k, v in
               re.findall(r'(coco/bbox_\w+): (-?[\d.]+)', line[0])}
    expected = {k: v for k, v in exported['val'].items() if k.startswith('coco/')}
    assert expected['coco/bbox_mAP'] > 0 and metrics == expected


def test_export_with_explicit_config_and_errors(exported, tmp_path):
    cfg_path = str(tmp_path / 'train.py')
    exported['cfg'].dump(cfg_path)
    info = export(exported['ckpt'], str(tmp_path / 'out'), config=cfg_path)
    assert info['dropped'] == ['temperature.theta']
    a = open(osp.join(exported['out'], 'student_config.py')).read()
    b = open(info['config']).read()
    assert a.split('\n', 2)[2] == b.split('\n', 2)[2]  # same but the header
    # a weights-only checkpoint has no config to start from
    bare = str(tmp_path / 'bare.pth')
    torch.save(dict(state_dict={'x': torch.zeros(1)}), bare)
    with pytest.raises(RuntimeError, match='pass --config'):
        export(bare, str(tmp_path / 'out2'))


def test_export_of_a_wrapped_model_checkpoint(exported, tmp_path):
    """``module.``-prefixed keys (a DDP-wrapped model's state dict): the student's
    keys lose the prefix, and only the non-student keys are reported dropped."""
    ckpt = torch.load(exported['ckpt'], map_location='cpu', weights_only=False)
    ckpt['state_dict'] = {f'module.{k}': v
                          for k, v in ckpt['state_dict'].items()}
    wrapped = str(tmp_path / 'wrapped.pth')
    torch.save(ckpt, wrapped)
    info = export(wrapped, str(tmp_path / 'out'))
    assert info['dropped'] == ['module.temperature.theta']
    saved = torch.load(info['checkpoint'], map_location='cpu',
                       weights_only=True)['state_dict']
    reference = torch.load(osp.join(exported['out'], 'student.pth'),
                           map_location='cpu', weights_only=True)['state_dict']
    assert list(saved) == list(reference)
    assert all(torch.equal(saved[k], reference[k]) for k in saved)


# -- the student's mmdet class --------------------------------------------------
TWO_STAGE = [tiny_faster_rcnn, tiny_cascade_rcnn, tiny_mask_rcnn]
ONE_STAGE = [tiny_retinanet, tiny_fcos, tiny_atss, tiny_gfl]


def _kd_config(model):
    return Config(dict(model=model, custom_imports=dict(
        imports=['ctkd_det'], allow_failed_imports=False)))


@pytest.mark.parametrize('tiny', TWO_STAGE + ONE_STAGE,
                         ids=[t.__name__[5:] for t in TWO_STAGE + ONE_STAGE])
def test_student_type_is_inferred_from_its_heads(tiny):
    """Without student_type, the distillation detector becomes the mmdet
    class of the student's own (plain) model dict; student_type overrides."""
    plain = tiny()
    kd = (tiny_kd if tiny in TWO_STAGE else tiny_kd_single)(student=tiny())
    cfg = student_config(_kd_config(kd))
    assert cfg.model.type == plain['type']
    assert {k: v for k, v in cfg.model.items() if k != 'type'} == \
        {k: v for k, v in plain.items() if k != 'type'}
    assert student_config(_kd_config(kd), 'Custom').model.type == 'Custom'


@pytest.mark.parametrize('name,expected', [
    ('faster-rcnn_r101-to-r50_fpn_kd_1x_coco.py', 'FasterRCNN'),
    ('cascade-rcnn_r101-to-r50_fpn_kd_1x_coco.py', 'CascadeRCNN'),
    ('mask-rcnn_r101-to-r50_fpn_ctkd-global_1x_coco.py', 'MaskRCNN'),
    ('retinanet_r101-to-r50_fpn_kd_1x_coco.py', 'RetinaNet'),
    ('gfl_r101-to-r18_fpn_kd_1x_coco.py', 'GFL')])
def test_coco_config_students_export_as_their_mmdet_detector(name, expected):
    """The COCO configs' students (mmdet's zoo configs) export as the zoo
    detector, the class of their teacher too."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'ctkd', name))
    assert load_teacher_config(cfg.model.teacher_config).type == expected
    assert student_config(cfg).model.type == expected


def test_student_type_of_unknown_heads_must_be_given(tmp_path):
    sparse = tiny_kd()
    sparse['roi_head']['type'] = 'SparseRoIHead'
    with pytest.raises(ValueError, match=r'roi_head SparseRoIHead.*'
                                         r'CascadeRoIHead -> CascadeRCNN.*'
                                         r'--student-type'):
        infer_student_type(sparse)
    yolo = tiny_kd_single()
    yolo['bbox_head']['type'] = 'mmdet.YOLOXHead'
    with pytest.raises(ValueError, match=r'bbox_head YOLOXHead.*'
                                         r'GFLHead -> GFL.*--student-type'):
        infer_student_type(yolo)
    assert infer_student_type(dict(type='KDSingleStageDetector', bbox_head=dict(
        type='mmdet.GFLHead'))) == 'GFL'   # registry scope ignored
    with pytest.raises(ValueError, match='neither roi_head nor bbox_head'):
        infer_student_type(dict(type='KDTwoStageDetector'))

    # the CLI: a clear message and a non-zero exit, nothing written
    cfg_path = str(tmp_path / 'kd.py')
    _kd_config(sparse).dump(cfg_path)
    ckpt = str(tmp_path / 'kd.pth')
    torch.save(dict(state_dict={'x': torch.zeros(1)}), ckpt)
    out = tmp_path / 'out'
    proc = run_tool('export_student', ckpt, out, '--config', cfg_path)
    assert proc.returncode == 1
    assert 'export_student: cannot infer the plain mmdet detector' in \
        proc.stderr and '--student-type' in proc.stderr
    assert 'Traceback' not in proc.stderr and not out.exists()
