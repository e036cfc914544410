"""The COCO configs in configs/ctkd: names, contents, and that every model builds
(Faster, Cascade and Mask R-CNN: KDTwoStageDetector; RetinaNet and GFL:
KDSingleStageDetector); the shapes distillation configs: the COCO methods'
settings but for their CPU changes.

Nothing is downloaded: teacher weights are disabled (``model.teacher_ckpt=None``)
and ``init_weights`` (ImageNet ``Pretrained`` init) is never called; both are
patched to fail loudly if something calls them anyway.
"""
import ast
import functools
import glob
import os.path as osp
import re
from urllib.parse import urlparse

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.model import BaseModule
from mmengine.optim import build_optim_wrapper
from mmengine.utils import get_installed_path

import ctkd_det  # noqa: F401
from ctkd_det.models.detectors.teacher import load_teacher_config
from ctkd_det.models.temperature import build_temperature
from ctkd_det.models.utils import bbox_stages
from mmdet.registry import MODELS

from _tiny import fake_batch
from conftest import REPO

CONFIG_DIR = osp.join(REPO, 'configs', 'ctkd')
ALL_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*.py')))
MMDET_CONFIGS = osp.join(get_installed_path('mmdet'), '.mim', 'configs')

NAME_RE = re.compile(
    r'^(?P<detector>faster-rcnn|cascade-rcnn|mask-rcnn)_(?P<teacher>r101|r50)-to-'
    r'(?P<student>r18|r50|mobilenetv2)_fpn_'
    r'(?P<method>kd|ctkd-global|ctkd-instance|rlkd|dkd|ctkd-global-dkd|'
    r'ctkd-instance-dkd|kd-fgbg|ctkd-global-fgbg)_(?P<schedule>1x)_coco\.py$')
# two-stage detectors: KDTwoStageDetector on RoI logits
CONFIGS = [p for p in ALL_CONFIGS if NAME_RE.match(osp.basename(p))]
PAIRINGS = {('r101', 'r18'), ('r101', 'r50'), ('r50', 'mobilenetv2')}
# the mmdet detector of each name, its model-zoo folder, its bbox stages and
# whether it has a mask branch
DETECTORS = {
    'faster-rcnn': dict(type='FasterRCNN', zoo='faster_rcnn', stages=1,
                        mask=False),
    'cascade-rcnn': dict(type='CascadeRCNN', zoo='cascade_rcnn', stages=3,
                         mask=False),
    'mask-rcnn': dict(type='MaskRCNN', zoo='mask_rcnn', stages=1, mask=True),
}
METHODS = {'kd': 'FixedTemperature', 'ctkd-global': 'GlobalTemperature',
           'ctkd-instance': 'InstanceTemperature', 'rlkd': 'RLTemperature',
           'dkd': 'FixedTemperature', 'ctkd-global-dkd': 'GlobalTemperature',
           'ctkd-instance-dkd': 'InstanceTemperature',
           'kd-fgbg': 'FixedTemperature', 'ctkd-global-fgbg': 'GlobalTemperature'}
# the loss of each method (mdistiller's detection DKD: alpha 1, beta 0.25, T = 1;
# DeFeat's fg/bg RoI KD: foreground and background weighted 2 / 2)
LOSSES = {m: dict(type='DKDLoss', alpha=1.0, beta=0.25, loss_weight=1.0)
          if m.endswith('dkd') else
          dict(type='KDLoss', fg_weight=2.0, bg_weight=2.0, loss_weight=1.0)
          if m.endswith('fgbg') else dict(type='KDLoss', loss_weight=1.0)
          for m in METHODS}
# fixed T of the RoI-logit methods: the detection recipe's T = 1 for all (KD's
# T = 4 is the classification recipe, kept only by the explicit `kd-t4` runs)
FIXED_T = {'kd': 1.0, 'dkd': 1.0, 'kd-fgbg': 1.0}
NUM_CLASSES = 80  # COCO; the RoI head has NUM_CLASSES + 1 logits (background)
RESNET_DEPTH = {'r18': 18, 'r50': 50, 'r101': 101}
STUDENT_CHANNELS = {'r18': [64, 128, 256, 512], 'r50': [256, 512, 1024, 2048],
                    'mobilenetv2': [24, 32, 96, 1280]}
SHAPES_DIR = osp.join(REPO, 'configs', 'shapes')
# What a shapes distillation config changes from the COCO config of the same method
# (flattened keys of model.temperature, of each custom hook, and of the
# temperature's optimiser rule); everything else of these must be equal. The
# shapes CTKD configs pin the authors' θ0 = 1 (`init_value`: the published shapes
# table ran from it): the COCO global T on KD starts there too, the COCO instance
# T at the fragment's θ0 = -4.
SHAPES_CPU_CHANGES = {
    # the shapes KD config is the table's `kd-t4` run (methods/kd-t4.py)
    'kd': dict(temperature={'value': 4.0}, hooks=[], optim={}),
    'ctkd-global': dict(temperature={}, hooks=[{'loops': 4}],
                        optim={'lr_mult': 10.0}),
    'ctkd-instance': dict(
        temperature={'num_classes': 5, 'hidden_dims': (64, 64), 'init_value': 1.0},
        hooks=[{'loops': 4}], optim={'lr_mult': 10.0}),
    'rlkd': dict(temperature={'ppo.optimizer.lr': 1e-3, 'exploration.updates': 10,
                              'decomposition.buffer_size': 16},
                 hooks=[{'update_interval': 8}], optim={}),
}


# one-stage (dense) detectors: KDSingleStageDetector, sigmoid class logits
DENSE_NAME_RE = re.compile(
    r'^(?P<detector>retinanet|gfl)_(?P<teacher>r101)-to-(?P<student>r50|r18)'
    r'_fpn_(?P<method>kd|ctkd-global|ctkd-instance)_(?P<schedule>1x)_coco\.py$')
DENSE_PAIRINGS = {('retinanet', 'r101', 'r50'), ('gfl', 'r101', 'r18')}
DENSE_METHODS = ('kd', 'ctkd-global', 'ctkd-instance')
DENSE_CONFIGS = [p for p in ALL_CONFIGS if DENSE_NAME_RE.match(osp.basename(p))]
DENSE_TYPES = {'retinanet': 'RetinaNet', 'gfl': 'GFL'}  # student and teacher
DENSE_ZOO = {'retinanet': 'retinanet', 'gfl': 'gfl'}  # mmdet config folder
DENSE_FIXED_T = {'retinanet': 8.0, 'gfl': 2.0}
DENSE_LOSS = dict(type='SigmoidKDLoss', loss_weight=1.0,
                  location_weight='teacher_score')


def _name(path):
    return NAME_RE.match(osp.basename(path))


def _expected_configs():
    """(detector, teacher, student, method) of every config configs/ctkd must
    hold: Faster R-CNN for every pairing and method (fg/bg KD included);
    Cascade R-CNN R101 -> R50 with KD and both CTKDs; Mask R-CNN R101 -> R50
    with CTKD global."""
    faster = {('faster-rcnn', t, s, m) for t, s in PAIRINGS for m in METHODS}
    cascade = {('cascade-rcnn', 'r101', 'r50', m)
               for m in ('kd', 'ctkd-global', 'ctkd-instance')}
    return faster | cascade | {('mask-rcnn', 'r101', 'r50', 'ctkd-global')}


def _cfg_stage_classes(roi_head):
    """``num_classes`` of every bbox stage of an RoI head config (a list of
    bbox heads in a cascade)."""
    heads = roi_head.bbox_head
    return [h.num_classes for h in heads] if isinstance(heads, list) \
        else [heads.num_classes]


def _ids(paths):
    return [osp.basename(p)[:-3] for p in paths]


def _mmdet_path(cfg_path):
    """``mmdet::a/b.py`` -> the file inside mmdet's installed configs."""
    scope, rel = cfg_path.split('::', 1)
    assert scope == 'mmdet', cfg_path
    return osp.join(MMDET_CONFIGS, rel)


def _flat(d, prefix=''):
    """Nested dict -> {'a.b.c': leaf value}."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f'{prefix}{k}.'))
        else:
            out[prefix + k] = v
    return out


def _changes(a, b):
    """The flattened keys whose value differs from ``a`` to ``b``: b's values."""
    fa, fb = _flat(a), _flat(b)
    return {k: fb.get(k) for k in fa.keys() | fb.keys() if fa.get(k) != fb.get(k)}


def _base_of(path):
    """The ``_base_`` value of a config file, read without executing it."""
    for node in ast.parse(open(path, encoding='utf-8').read()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            return ast.literal_eval(node.value)
    return None


@functools.lru_cache(maxsize=None)
def _model_zoo_weights(folder='faster_rcnn'):
    """``configs/<folder>/<name>.py`` -> checkpoint URL, from mmdet's metafile."""
    with open(osp.join(MMDET_CONFIGS, folder, 'metafile.yml')) as f:
        meta = yaml.safe_load(f)
    return {m['Config']: m['Weights'] for m in meta['Models'] if 'Weights' in m}


@pytest.fixture(autouse=True)
def no_weight_loading(monkeypatch):
    """Building must neither initialise (Pretrained -> download) nor load weights."""
    def forbidden(*args, **kwargs):
        raise AssertionError('weights must not be loaded/initialised in these tests')
    monkeypatch.setattr(BaseModule, 'init_weights', forbidden)
    monkeypatch.setattr(
        'ctkd_det.models.detectors.teacher._load_checkpoint', forbidden)


def test_config_set_is_complete():
    names = [osp.basename(p) for p in ALL_CONFIGS]
    bad = [n for n in names
           if not (NAME_RE.match(n) or DENSE_NAME_RE.match(n))]
    assert not bad, f'names not matching {NAME_RE.pattern} or ' \
        f'{DENSE_NAME_RE.pattern}: {bad}'
    found = {(m['detector'], m['teacher'], m['student'], m['method'])
             for m in map(_name, CONFIGS)}
    expected = _expected_configs()
    assert found == expected, (sorted(expected - found), sorted(found - expected))
    dense = {(m['detector'], m['teacher'], m['student'], m['method'])
             for m in (DENSE_NAME_RE.match(osp.basename(p))
                       for p in DENSE_CONFIGS)}
    assert dense == {(*pair, m) for pair in DENSE_PAIRINGS
                     for m in DENSE_METHODS}


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_config_contents(path):
    name = _name(path)
    cfg = Config.fromfile(path)

    assert cfg.custom_imports == dict(imports=['ctkd_det'],
                                      allow_failed_imports=False)
    model = cfg.model
    assert model.type == 'KDTwoStageDetector'
    assert model.distill_loss == LOSSES[name['method']]

    # temperature module <-> method in the name
    temp = model.temperature
    assert temp.type == METHODS[name['method']]
    if temp.type == 'FixedTemperature':
        assert temp.value == FIXED_T[name['method']]
    if temp.type == 'InstanceTemperature':
        assert temp.num_classes == NUM_CLASSES + 1
    if temp.type != 'FixedTemperature':
        assert temp.t_min < temp.t_max

    # curriculum hook: CTKD only, ramp completed within the schedule
    max_epochs = cfg.train_cfg.max_epochs
    assert max_epochs == {'1x': 12}[name['schedule']]
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h['type'] == 'CurriculumTemperatureHook']
    if name['method'].startswith('ctkd'):
        assert len(hooks) == 1, cfg.get('custom_hooks')
        hook = hooks[0]
        assert hook.by_epoch and hook.lambda_min == 0.0 and hook.lambda_max == 1.0
        assert 0 < hook.loops < max_epochs
    else:
        assert not hooks
    rl_hooks = [h for h in cfg.get('custom_hooks', [])
                if h['type'] == 'RLTemperatureHook']
    if name['method'] == 'rlkd':
        assert len(rl_hooks) == 1, cfg.get('custom_hooks')
        assert 0 <= rl_hooks[0].warmup_epochs < max_epochs
        assert rl_hooks[0].update_interval >= 1
        assert temp.t_min <= temp.warmup_temperature <= temp.t_max
        # the reward model's FIFO holds at least a whole rollout
        assert temp.decomposition.buffer_size >= rl_hooks[0].update_interval
    else:
        assert not rl_hooks

    # no weight decay on the temperature parameters
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['temperature'] == \
        dict(decay_mult=0.0)
    assert cfg.optim_wrapper.optimizer.weight_decay > 0  # the student keeps it

    # COCO at data/coco/
    assert cfg.data_root == 'data/coco/'
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset.data_root == 'data/coco/', split
        assert cfg[split].dataset.type == 'CocoDataset', split

    # student backbone <-> name
    backbone, student = model.backbone, name['student']
    if student in RESNET_DEPTH:
        assert backbone.type == 'ResNet'
        assert backbone.depth == RESNET_DEPTH[student]
        assert backbone.init_cfg.checkpoint == f'torchvision://resnet{backbone.depth}'
    else:
        assert backbone.type == 'MobileNetV2'
        assert backbone.init_cfg.type == 'Pretrained'
    assert model.neck.in_channels == STUDENT_CHANNELS[student]

    # teacher config: a local wrapper of an existing mmdet:: config
    assert osp.isfile(model.teacher_config), model.teacher_config
    mmdet_cfg = _base_of(model.teacher_config)
    assert isinstance(mmdet_cfg, str) and mmdet_cfg.startswith('mmdet::')
    assert osp.isfile(_mmdet_path(mmdet_cfg)), mmdet_cfg
    teacher = load_teacher_config(model.teacher_config)
    detector = DETECTORS[name['detector']]
    assert teacher.type == detector['type']
    assert teacher.backbone.depth == RESNET_DEPTH[name['teacher']]
    stages = [NUM_CLASSES] * detector['stages']
    assert _cfg_stage_classes(teacher.roi_head) == stages
    assert _cfg_stage_classes(model.roi_head) == stages
    assert model.get('kd_stages') is None  # every stage distilled
    if detector['stages'] > 1:
        for m in (model, teacher):
            assert m.roi_head.type == 'CascadeRoIHead'
            assert m.roi_head.num_stages == detector['stages']
    assert ('mask_head' in model.roi_head) == detector['mask']
    assert ('mask_head' in teacher.roi_head) == detector['mask']
    if detector['mask']:  # instance masks loaded and evaluated
        assert cfg.val_evaluator.metric == ['bbox', 'segm']
        assert any(t.get('with_mask') for t in
                   cfg.train_dataloader.dataset.pipeline)

    # teacher checkpoint: the model zoo's https URL for exactly that config
    url = model.teacher_ckpt
    assert urlparse(url).scheme == 'https' and url.endswith('.pth'), url
    zoo_key = 'configs/' + mmdet_cfg.split('::', 1)[1]
    assert zoo_key.startswith(f'configs/{detector["zoo"]}/')
    assert _model_zoo_weights(detector['zoo'])[zoo_key] == url
    # ... and it can be overridden from the command line
    cfg.merge_from_dict({'model.teacher_ckpt': '/ckpts/teacher.pth'})
    assert cfg.model.teacher_ckpt == '/ckpts/teacher.pth'


@pytest.mark.parametrize('path', CONFIGS, ids=_ids(CONFIGS))
def test_config_builds(path):
    name = _name(path)
    cfg = Config.fromfile(path)
    cfg.model.teacher_ckpt = None  # no download
    model = MODELS.build(cfg.model)

    # 81 logits on both sides (80 COCO classes + background), in every stage
    detector = DETECTORS[name['detector']]
    assert model.kd_stages == list(range(detector['stages']))
    for det in (model, model.teacher):
        heads = bbox_stages(det.roi_head)
        assert len(heads) == detector['stages']
        for _, head in heads:
            assert head.num_classes == NUM_CLASSES
            assert head.fc_cls.out_features == NUM_CLASSES + 1
        assert det.roi_head.with_mask == detector['mask']
    assert type(model.temperature).__name__ == METHODS[name['method']]
    assert type(model.teacher.backbone).__name__ == 'ResNet'
    assert model.teacher.backbone.depth == RESNET_DEPTH[name['teacher']]
    assert not any(p.requires_grad for p in model.teacher.parameters())

    # student features: 4 backbone levels at strides 4..32 -> 5 FPN levels
    model.eval()
    with torch.no_grad():
        x = torch.zeros(1, 3, 64, 64)
        sizes = [f.shape[-1] for f in model.backbone(x)]
        assert sizes == [16, 8, 4, 2]
        assert [f.shape[-1] for f in model.neck(model.backbone(x))] == \
            [16, 8, 4, 2, 1]

    # optimizer: temperature params without weight decay, the student's with it
    temp_params = {id(p) for p in model.temperature.parameters()}
    if name['method'] == 'rlkd':
        # the agent trains with its own optimizer: outside parameters/state_dict
        agent = {id(p) for m in model.temperature.agent_modules().values()
                 for p in m.parameters()}
        assert agent and not temp_params
        assert not any(k.startswith('temperature.') for k in model.state_dict())
        optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
        assert agent.isdisjoint(
            id(p) for g in optim.param_groups for p in g['params'])
    elif METHODS[name['method']] == 'FixedTemperature':
        assert not temp_params
        assert model.temperature.value == FIXED_T[name['method']]
    else:
        assert temp_params
        optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
        decays = {id(p): g['weight_decay']
                  for g in optim.param_groups for p in g['params']}
        assert temp_params <= set(decays)
        assert all(decays[i] == 0.0 for i in temp_params)
        base_wd = cfg.optim_wrapper.optimizer.weight_decay
        assert any(wd == base_wd for i, wd in decays.items()
                   if i not in temp_params)


KD_T1_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR,
                                           'faster-rcnn_*_kd_1x_coco.py')))


@pytest.mark.parametrize('path,value', [
    *((p, 1.0) for p in KD_T1_CONFIGS),
    (osp.join(CONFIG_DIR, 'cascade-rcnn_r101-to-r50_fpn_kd_1x_coco.py'), 1.0),
    (osp.join(REPO, 'configs', '_base_', 'distill', 'kd.py'), 1.0),
    (osp.join(SHAPES_DIR, 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py'), 4.0),
    (osp.join(REPO, 'configs', 'glyphs',
              'faster-rcnn_r50-to-r18_fpn_kd-t4_cpu_glyphs.py'), 4.0),
], ids=lambda v: osp.basename(v)[:-3] if isinstance(v, str) else str(v))
def test_kd_default_is_t1_and_explicit_t4_runs_stay_t4(path, value):
    """Vanilla KD defaults to the detection recipe's T = 1 (methods/kd.py); the
    shapes and glyphs `kd-t4` runs keep the classification recipe's T = 4
    (methods/kd-t4.py). Checked on the built temperature module."""
    cfg = Config.fromfile(path)
    model_cfg = cfg.model if 'model' in cfg else cfg.kd_model  # fragment: kd_model
    temp = MODELS.build(model_cfg.temperature)
    assert type(temp).__name__ == 'FixedTemperature'
    assert temp.value == value
    logits = torch.zeros(3, NUM_CLASSES + 1)
    assert torch.equal(temp(logits, logits), torch.full((3, 1), value))


def test_kd_fragments_are_one_definition_each():
    """methods/kd.py is methods/kd-t1.py (one definition of the default)."""
    methods = osp.join(REPO, 'configs', '_base_', 'methods')
    assert _base_of(osp.join(methods, 'kd.py')) == ['./kd-t1.py']
    assert len(KD_T1_CONFIGS) == 3  # one per Faster R-CNN pairing


# CTKD's initial T = 1 + 20·σ(θ0), chosen per loss on the glyphs dev split: the
# global T on KD losses (KD, fg/bg KD) from the authors' θ0 = 1 (T0 ≈ 15.6), on
# DKD from θ0 = -4 (T0 ≈ 1.36, methods/ctkd-global_t0-low.py); the instance T from
# θ0 = -4 (methods/ctkd-instance.py). Pinned to the authors' θ0 = 1: the shapes
# configs (the published table's cells and recorded runs) and the dense-head
# COCO configs.
T0_LOW, T0_AUTHORS = 1.3597, 15.6212  # 1 + 20·σ(-4), 1 + 20·σ(1)
TWO_STAGE_CTKD = [p for p in CONFIGS if _name(p)['method'].startswith('ctkd')]
DISTILL_CTKD = sorted(glob.glob(osp.join(REPO, 'configs', '_base_', 'distill',
                                         'ctkd-*.py')))
GLYPHS_DIR = osp.join(REPO, 'configs', 'glyphs')
GLYPHS_CTKD = sorted(
    glob.glob(osp.join(GLYPHS_DIR, '*ctkd*_cpu_glyphs.py')) +
    glob.glob(osp.join(GLYPHS_DIR, 'table', 'ctkd-*.py')))
SHAPES_CTKD = sorted(
    glob.glob(osp.join(SHAPES_DIR, '*ctkd*_cpu_shapes.py')) +
    glob.glob(osp.join(SHAPES_DIR, 'table', 'ctkd-*.py')) +
    glob.glob(osp.join(SHAPES_DIR, 'ablation', '*', 'ctkd-*.py')))
DENSE_CTKD = [p for p in DENSE_CONFIGS
              if DENSE_NAME_RE.match(osp.basename(p))['method'] != 'kd']
# the shapes ablation's `ctkd-global-tmax4`: T in [1, 4], θ0 = 1 -> 1 + 3·σ(1)
T0_TMAX4 = 3.1932


def _roi_t0(path):
    """T0 of a RoI-logit CTKD config from its name: low for the instance T and
    for the global T on DKD, the authors' for the global T on KD losses."""
    name = osp.basename(path)
    return T0_LOW if 'instance' in name or 'global-dkd' in name else T0_AUTHORS


INITIAL_T = [*((p, _roi_t0(p)) for p in TWO_STAGE_CTKD + DISTILL_CTKD +
               GLYPHS_CTKD),
             *((p, T0_TMAX4 if 'tmax4' in p else T0_AUTHORS)
               for p in SHAPES_CTKD + DENSE_CTKD)]


def test_initial_temperature_covers_every_ctkd_config():
    # Faster 3 pairings x 5 (global, instance, global-dkd, instance-dkd,
    # global-fgbg), Cascade 2, Mask 1
    assert len(TWO_STAGE_CTKD) == 18
    assert len(DISTILL_CTKD) == 2 and len(DENSE_CTKD) == 4
    # glyphs: 5 CTKD leaves and their 5 table cells
    assert len(GLYPHS_CTKD) == 10
    assert sum(_roi_t0(p) == T0_AUTHORS for p in GLYPHS_CTKD) == 4
    # 5 shapes configs (Faster global / instance / global-fgbg, Cascade,
    # RetinaNet), the table's 3 cells, the ablation's 3 x (pretrained, scratch)
    assert len(SHAPES_CTKD) == 14


@pytest.mark.parametrize('path,t0', INITIAL_T,
                         ids=[osp.relpath(p, osp.join(REPO, 'configs'))[:-3]
                              for p, _ in INITIAL_T])
def test_ctkd_initial_temperature(path, t0):
    """The built temperature module of each CTKD config gives T0 on any logits
    (instance T: every row); the `kd_temperature` helper is the model's (but
    for the ablation's t_max)."""
    cfg = Config.fromfile(path)
    model_cfg = cfg.model if 'model' in cfg else cfg.kd_model  # fragment: kd_model
    assert _changes(cfg.kd_temperature, model_cfg.temperature) == \
        ({'t_max': 4.0} if 'tmax4' in path else {})
    temp = build_temperature(model_cfg.temperature)
    assert type(temp).__name__ in ('GlobalTemperature', 'InstanceTemperature')
    columns = getattr(temp, 'num_classes', NUM_CLASSES + 1)
    torch.manual_seed(0)
    t, s = torch.randn(2, 6, columns).mul(5).unbind(0)
    out = temp(t, s)
    assert out.shape == (6, 1)
    assert torch.allclose(out, torch.full((6, 1), t0), atol=1e-4), out.flatten()


# (detector, COCO pairing) of the shapes distillation configs
SHAPES_CONFIGS = [('faster-rcnn', 'r101-to-r18', m)
                  for m in sorted(SHAPES_CPU_CHANGES)] + \
    [('cascade-rcnn', 'r101-to-r50', 'ctkd-global')]


@pytest.mark.parametrize('detector,coco_pairing,method', SHAPES_CONFIGS,
                         ids=[f'{d}-{m}' for d, _, m in SHAPES_CONFIGS])
def test_shapes_configs_are_the_coco_methods_with_cpu_changes(
        detector, coco_pairing, method):
    """The shapes configs inherit the COCO configs' method fragments and KD
    settings: they may differ only by the listed CPU changes."""
    coco = Config.fromfile(osp.join(
        CONFIG_DIR, f'{detector}_{coco_pairing}_fpn_{method}_1x_coco.py'))
    shapes = Config.fromfile(osp.join(
        SHAPES_DIR, f'{detector}_r50-to-r18_fpn_{method}_cpu_shapes.py'))
    expected = SHAPES_CPU_CHANGES[method]

    assert _changes(coco.model.temperature, shapes.model.temperature) == \
        expected['temperature']
    coco_hooks, shapes_hooks = (c.get('custom_hooks', []) for c in (coco, shapes))
    assert len(coco_hooks) == len(shapes_hooks) == len(expected['hooks'])
    assert [_changes(a, b) for a, b in zip(coco_hooks, shapes_hooks)] == \
        expected['hooks']
    rule = [c.optim_wrapper.paramwise_cfg.custom_keys['temperature']
            for c in (coco, shapes)]
    assert _changes(*rule) == expected['optim']

    # the detector wrapper and the run-time check hooks are the same
    for key in ('type', 'distill_loss', 'eval_teacher'):
        assert shapes.model[key] == coco.model[key], key
    for key in ('distill_data_check', 'rng_state'):
        assert shapes.default_hooks[key] == coco.default_hooks[key], key
    assert shapes.custom_imports == coco.custom_imports
    # ... on the shapes student and teacher, of the COCO config's stages
    assert _cfg_stage_classes(shapes.model.roi_head) == \
        [4] * DETECTORS[detector]['stages']
    assert shapes.model.roi_head.type == coco.model.roi_head.type
    assert shapes.model.get('kd_stages') == coco.model.get('kd_stages')
    assert shapes.model.teacher_config == osp.join(
        SHAPES_DIR, f'{detector}_r50_fpn_shapes.py')
    teacher = load_teacher_config(shapes.model.teacher_config)
    assert teacher.type == DETECTORS[detector]['type']
    assert _cfg_stage_classes(teacher.roi_head) == \
        [4] * DETECTORS[detector]['stages']


# -- one-stage (dense) detectors ------------------------------------------------
def _dense_name(path):
    return DENSE_NAME_RE.match(osp.basename(path))


@pytest.mark.parametrize('path', DENSE_CONFIGS, ids=_ids(DENSE_CONFIGS))
def test_dense_config_contents(path):
    name = _dense_name(path)
    detector = name['detector']
    cfg = Config.fromfile(path)

    assert cfg.custom_imports == dict(imports=['ctkd_det'],
                                      allow_failed_imports=False)
    model = cfg.model
    assert model.type == 'KDSingleStageDetector'
    assert model.distill_loss == DENSE_LOSS
    assert model.bbox_head.loss_cls.use_sigmoid  # what SigmoidKDLoss needs

    # temperature module <-> method; fixed T per detector (kd-t8 / kd-t2)
    temp = model.temperature
    assert temp.type == METHODS[name['method']]
    if temp.type == 'FixedTemperature':
        assert temp.value == DENSE_FIXED_T[detector]
    else:
        assert (temp.t_min, temp.t_max) == (1.0, 21.0)
    if temp.type == 'InstanceTemperature':
        assert temp.num_classes == NUM_CLASSES  # sigmoid: no background column

    # curriculum hook: CTKD only, the COCO ramp
    hooks = [h for h in cfg.get('custom_hooks', [])
             if h['type'] == 'CurriculumTemperatureHook']
    if name['method'].startswith('ctkd'):
        assert len(hooks) == 1 and hooks[0].loops == 6 and hooks[0].by_epoch
    else:
        assert not hooks
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['temperature'] == \
        dict(decay_mult=0.0)
    assert cfg.default_hooks.distill_data_check.type == 'DistillDataCheckHook'
    assert cfg.data_root == 'data/coco/'
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[split].dataset.type == 'CocoDataset', split

    # student backbone <-> name
    assert model.backbone.depth == RESNET_DEPTH[name['student']]
    assert model.backbone.init_cfg.checkpoint == \
        f'torchvision://resnet{model.backbone.depth}'
    assert model.neck.in_channels == STUDENT_CHANNELS[name['student']]

    # teacher config: a local wrapper of the model zoo config of the same
    # detector, its checkpoint URL the metafile's for exactly that config
    mmdet_cfg = _base_of(model.teacher_config)
    assert mmdet_cfg.startswith(f'mmdet::{DENSE_ZOO[detector]}/'), mmdet_cfg
    assert osp.isfile(_mmdet_path(mmdet_cfg)), mmdet_cfg
    teacher = load_teacher_config(model.teacher_config)
    assert teacher.type == DENSE_TYPES[detector]
    assert teacher.backbone.depth == RESNET_DEPTH[name['teacher']]
    url = model.teacher_ckpt
    assert urlparse(url).scheme == 'https' and url.endswith('.pth'), url
    zoo_key = 'configs/' + mmdet_cfg.split('::', 1)[1]
    assert _model_zoo_weights(DENSE_ZOO[detector])[zoo_key] == url


@pytest.mark.parametrize('path', DENSE_CONFIGS, ids=_ids(DENSE_CONFIGS))
def test_dense_config_builds_and_steps(path):
    """The built detector: the teacher's dense head aligns with the student's
    (the build check passed), a KD step runs on a small fake batch with the
    config's temperature and loss, and the temperature gets no decay."""
    name = _dense_name(path)
    cfg = Config.fromfile(path)
    cfg.model.teacher_ckpt = None  # no download
    model = MODELS.build(cfg.model)
    for det in (model, model.teacher):
        assert type(det.bbox_head).__name__ == \
            cfg.model.bbox_head.type
        assert det.bbox_head.cls_out_channels == NUM_CLASSES
    assert type(model.teacher).__name__ == DENSE_TYPES[name['detector']]
    assert model.teacher.backbone.depth == RESNET_DEPTH[name['teacher']]
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert type(model.temperature).__name__ == METHODS[name['method']]

    torch.manual_seed(0)
    model.train()
    losses = model.loss(*fake_batch(num_images=1, size=64))
    assert torch.isfinite(losses['loss_kd']) and losses['loss_kd'].item() >= 0
    assert losses['kd_temp'].item() == pytest.approx(
        DENSE_FIXED_T[name['detector']] if name['method'] == 'kd'
        else 1 + 20 * torch.sigmoid(torch.tensor(1.0)).item(), rel=1e-5)

    temp_params = {id(p) for p in model.temperature.parameters()}
    if name['method'] != 'kd':
        optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
        decays = {id(p): g['weight_decay']
                  for g in optim.param_groups for p in g['params']}
        assert temp_params and all(decays[i] == 0.0 for i in temp_params)


@pytest.mark.parametrize('method', ['kd', 'ctkd-global'])
def test_shapes_retinanet_configs_are_the_coco_methods_with_cpu_changes(method):
    """The shapes RetinaNet KD configs: the COCO RetinaNet configs' method,
    loss and detector settings but for the same CPU changes as the Faster
    R-CNN shapes configs; their teacher and student align (a KD step runs)."""
    coco = Config.fromfile(osp.join(
        CONFIG_DIR, f'retinanet_r101-to-r50_fpn_{method}_1x_coco.py'))
    shapes = Config.fromfile(osp.join(
        SHAPES_DIR, f'retinanet_r50-to-r18_fpn_{method}_cpu_shapes.py'))
    expected = SHAPES_CPU_CHANGES[method]
    # both RetinaNet KD configs use kd-t8.py, both CTKD configs pin the authors'
    # θ0 = 1 (the dense COCO configs as the shapes ones): no temperature change
    assert _changes(coco.model.temperature, shapes.model.temperature) == {}
    coco_hooks, shapes_hooks = (c.get('custom_hooks', []) for c in (coco, shapes))
    assert [_changes(a, b) for a, b in zip(coco_hooks, shapes_hooks)] == \
        expected['hooks'] and len(coco_hooks) == len(shapes_hooks)
    rule = [c.optim_wrapper.paramwise_cfg.custom_keys['temperature']
            for c in (coco, shapes)]
    assert _changes(*rule) == expected['optim']
    for key in ('type', 'distill_loss', 'eval_teacher'):
        assert shapes.model[key] == coco.model[key], key
    for key in ('distill_data_check', 'rng_state'):
        assert shapes.default_hooks[key] == coco.default_hooks[key], key
    assert shapes.model.bbox_head.num_classes == 4
    assert shapes.model.teacher_config == osp.join(
        SHAPES_DIR, 'retinanet_r50_fpn_shapes.py')
    assert Config.fromfile(osp.join(SHAPES_DIR, 'retinanet_r18_fpn_shapes.py')
                           ).model.type == 'RetinaNet'

    shapes.model.teacher_ckpt = None
    model = MODELS.build(shapes.model)
    assert model.teacher.backbone.depth == 50 and model.backbone.depth == 18
    assert model.teacher.neck.out_channels == 128 and model.neck.out_channels == 64
    torch.manual_seed(0)
    model.train()
    losses = model.loss(*fake_batch(num_images=1, size=96))
    assert torch.isfinite(losses['loss_kd'])
