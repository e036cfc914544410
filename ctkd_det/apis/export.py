"""The student of a distillation checkpoint as a plain MMDetection model.

``export(ckpt, out_dir)`` writes

* ``out_dir/student.pth``: ``{'meta': ..., 'state_dict': ...}`` with the student's
  weights only: no ``temperature.*`` (nor teacher) keys, no optimizer, scheduler or
  message hub; ``meta`` holds plain values only (``dataset_meta`` for the class
  names, the source checkpoint, epoch/iter), so ``torch.load(weights_only=True)``
  and mmengine's loader read it without ctkd_det;
* ``out_dir/student_config.py``: the training config turned into a plain mmdet
  config (:func:`student_config`): ``model.type`` the student's mmdet detector
  (``student_type``; by default inferred from the student's heads,
  :func:`infer_student_type`), without ``teacher_config``/``teacher_ckpt``/
  ``temperature``/``distill_loss``/``eval_teacher``/``kd_stages``, without ctkd_det's hooks and
  ``custom_imports``; ctkd_det's datasets become ``CocoDataset`` with their
  ``metainfo``.

The config is the one mmengine stored in the checkpoint (``meta['cfg']``) unless
``config`` is given. With ``verify`` both files are checked: the config must not
mention any ctkd_det module, and the weights must load strictly into the model it
builds. CLI: ``tools/export_student.py``.
"""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS, HOOKS, MODELS

# KDTwoStageDetector's arguments that a plain two-stage detector does not take
KD_MODEL_KEYS = ('teacher_config', 'teacher_ckpt', 'temperature', 'distill_loss',
                 'eval_teacher', 'kd_stages')
# state-dict prefixes that are not the student's
NON_STUDENT_PREFIXES = ('temperature.', 'teacher.', 'distill_loss.')
# The plain mmdet detector of a distilled student, by the type of its RoI head
# (two-stage; a StandardRoIHead with a mask_head is MaskRCNN's) or of its dense
# bbox_head (one-stage). mmdet's Cascade Mask R-CNN is a CascadeRCNN too.
ROI_HEAD_DETECTORS = {'StandardRoIHead': 'FasterRCNN',
                      'CascadeRoIHead': 'CascadeRCNN'}
DENSE_HEAD_DETECTORS = {'RetinaHead': 'RetinaNet', 'FCOSHead': 'FCOS',
                        'ATSSHead': 'ATSS', 'GFLHead': 'GFL'}


def ctkd_types() -> set:
    """Names of everything ctkd_det registered (models, losses, hooks...)."""
    names = set()
    for registry in (MODELS, HOOKS, DATASETS):
        for name, obj in registry.module_dict.items():
            if getattr(obj, '__module__', '').startswith('ctkd_det'):
                names.add(name)
    return names


def _strip_module(key: str) -> str:
    """A state-dict key without the ``module.`` prefix of a wrapped model."""
    return key[len('module.'):] if key.startswith('module.') else key


def student_state_dict(state_dict: dict) -> 'OrderedDict':
    """The student's entries of a distillation state dict (``module.`` prefix
    removed; ``temperature.``, ``teacher.``, ``distill_loss.`` dropped)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        key = _strip_module(key)
        if not key.startswith(NON_STUDENT_PREFIXES):
            out[key] = value
    return out


def _is_ctkd(obj, types) -> bool:
    return isinstance(obj, dict) and obj.get('type') in types


def _mmdet_scope(obj):
    """``_scope_='ctkd_det'`` (dicts from ``ctkd_det::`` bases) -> ``'mmdet'``:
    ctkd_det's scope is mmdet's registries plus ours (``ctkd_det/registry.py``),
    so for the plain student it is mmdet's."""
    if isinstance(obj, dict):
        if obj.get('_scope_') == 'ctkd_det':
            obj['_scope_'] = 'mmdet'
        for v in obj.values():
            _mmdet_scope(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _mmdet_scope(v)


def _plain_datasets(obj, types):
    """ctkd_det's datasets (e.g. ``ShapesDataset``) are mmdet ``CocoDataset``s
    with their classes as ``METAINFO``: write them as ``CocoDataset`` with that
    ``metainfo`` (unless the config sets one)."""
    if isinstance(obj, dict):
        if obj.get('type') in types and isinstance(
                DATASETS.get(obj['type']), type) and \
                issubclass(DATASETS.get(obj['type']), CocoDataset):
            meta = DATASETS.get(obj['type']).METAINFO
            obj.setdefault('metainfo', {k: list(v) for k, v in meta.items()})
            obj['type'] = 'CocoDataset'
        for v in obj.values():
            _plain_datasets(v, types)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _plain_datasets(v, types)


def _type_name(part) -> str:
    """A config dict's ``type`` without a registry scope (``mmdet.X`` -> ``X``)."""
    name = part.get('type') if isinstance(part, dict) else None
    return name.split('.')[-1] if isinstance(name, str) else repr(name)


def infer_student_type(model: dict) -> str:
    """The plain mmdet detector class of a distillation config's student
    ``model`` (a ``KDTwoStageDetector`` / ``KDSingleStageDetector`` dict), from
    its heads: ``roi_head`` ``CascadeRoIHead`` -> ``CascadeRCNN``,
    ``StandardRoIHead`` -> ``MaskRCNN`` with a ``mask_head``, else
    ``FasterRCNN``; without ``roi_head``, ``bbox_head`` ``RetinaHead`` /
    ``FCOSHead`` / ``ATSSHead`` / ``GFLHead`` -> ``RetinaNet`` / ``FCOS`` /
    ``ATSS`` / ``GFL``. ``ValueError`` for anything else: the caller must
    name the class (``student_type``, ``--student-type``)."""
    roi_head = model.get('roi_head')
    if roi_head:
        head = _type_name(roi_head)
        if head == 'StandardRoIHead' and roi_head.get('mask_head'):
            return 'MaskRCNN'
        if head in ROI_HEAD_DETECTORS:
            return ROI_HEAD_DETECTORS[head]
        what, known = f'roi_head {head}', ROI_HEAD_DETECTORS
    elif model.get('bbox_head'):
        head = _type_name(model['bbox_head'])
        if head in DENSE_HEAD_DETECTORS:
            return DENSE_HEAD_DETECTORS[head]
        what, known = f'bbox_head {head}', DENSE_HEAD_DETECTORS
    else:
        what, known = 'neither roi_head nor bbox_head', \
            {**ROI_HEAD_DETECTORS, **DENSE_HEAD_DETECTORS}
    table = ', '.join(f'{h} -> {d}' for h, d in known.items())
    raise ValueError(
        f'cannot infer the plain mmdet detector of the student of '
        f'{_type_name(model)} ({what}; known: {table}): give it with '
        '--student-type (export(..., student_type=...)), e.g. '
        '--student-type FasterRCNN')


def student_config(cfg: Config, student_type: Optional[str] = None) -> Config:
    """A plain mmdet config of the student of a distillation config; the
    distillation detector becomes ``student_type`` (default: inferred,
    :func:`infer_student_type`)."""
    types = ctkd_types()
    d = copy.deepcopy(cfg.to_dict())
    _plain_datasets(d, types)
    _mmdet_scope(d)
    model = d['model']
    if model.get('type') in types:
        model['type'] = student_type or infer_student_type(model)
    for key in KD_MODEL_KEYS:
        model.pop(key, None)

    imports = d.get('custom_imports')
    if imports is not None:
        mods = [m for m in imports.get('imports', [])
                if m != 'ctkd_det' and not m.startswith('ctkd_det.')]
        if mods:
            imports['imports'] = mods
        else:
            d.pop('custom_imports')
    if 'custom_hooks' in d:
        d['custom_hooks'] = [h for h in d['custom_hooks'] or []
                             if not _is_ctkd(h, types)]
        if not d['custom_hooks']:
            d.pop('custom_hooks')
    if isinstance(d.get('default_hooks'), dict):
        d['default_hooks'] = {k: h for k, h in d['default_hooks'].items()
                              if not _is_ctkd(h, types)}
    paramwise = (d.get('optim_wrapper') or {}).get('paramwise_cfg')
    if paramwise and 'custom_keys' in paramwise:
        paramwise['custom_keys'].pop('temperature', None)
        if not paramwise['custom_keys']:
            paramwise.pop('custom_keys')
        if not paramwise:
            d['optim_wrapper'].pop('paramwise_cfg')
    # the training run's bookkeeping
    for key in ('work_dir', 'experiment_name', 'launcher'):
        d.pop(key, None)
    d['load_from'] = None
    d['resume'] = False
    # top-level helper variables holding ctkd modules (e.g. `kd_temperature`)
    for key in [k for k, v in d.items() if _is_ctkd(v, types)]:
        d.pop(key)

    leftovers = _find_ctkd(d, types)
    if leftovers:
        raise RuntimeError('the exported config still refers to ctkd_det at: '
                           f'{leftovers}')
    return Config(d)


def _find_ctkd(obj, types, path='cfg'):
    """Where ``obj`` (a config dict) still names a ctkd_det type or module."""
    found = []
    if isinstance(obj, dict):
        if obj.get('type') in types:
            found.append(f'{path} (type={obj["type"]})')
        for k, v in obj.items():
            found += _find_ctkd(v, types, f'{path}.{k}')
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found += _find_ctkd(v, types, f'{path}[{i}]')
    elif isinstance(obj, str) and 'ctkd_det' in obj:
        found.append(f'{path} = {obj!r}')
    return found


def plain(obj):
    """Only python builtins (weights_only-loadable without allowlists)."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(plain(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def load_training_checkpoint(ckpt_path: str, config: str = None):
    """``(state_dict, meta, cfg)`` of a training checkpoint; ``cfg`` is the
    ``config`` file if given, else the config mmengine stored in ``meta['cfg']``."""
    checkpoint = _load_checkpoint(ckpt_path, map_location='cpu')
    if not isinstance(checkpoint, dict):
        raise RuntimeError(f'{ckpt_path} is not a checkpoint dict')
    meta = checkpoint.get('meta') or {}
    state_dict = checkpoint.get('state_dict', checkpoint)
    if config is not None:
        cfg = Config.fromfile(config)
    elif meta.get('cfg'):
        cfg = Config.fromstring(meta['cfg'], file_format='.py')
    else:
        raise RuntimeError(f'{ckpt_path} stores no config (meta["cfg"]); pass '
                           '--config')
    return state_dict, meta, cfg


def export_meta(meta: dict, ckpt_path: str) -> dict:
    """The exported checkpoint's ``meta``: the source, epoch/iter, the
    ``dataset_meta`` (class names) and mmengine version, as plain values."""
    out = dict(exported_from=osp.abspath(ckpt_path),
               epoch=meta.get('epoch'), iter=meta.get('iter'),
               dataset_meta=meta.get('dataset_meta'),
               mmengine_version=meta.get('mmengine_version'))
    return plain({k: v for k, v in out.items() if v is not None})


def verify_export(cfg_path: str, ckpt_path: str) -> None:
    """The written config names no ctkd_det module and the written weights load
    (``weights_only``) strictly into the model it builds (in the config's
    ``default_scope``, as mmdet's tools build it: a config that does not
    inherit mmdet's own files names mmdet's types without ``_scope_``)."""
    reloaded = Config.fromfile(cfg_path)
    leftovers = _find_ctkd(reloaded.to_dict(), ctkd_types())
    if leftovers:
        raise RuntimeError(f'{cfg_path} still refers to ctkd_det at: '
                           f'{leftovers}')
    saved = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    with DefaultScope.overwrite_default_scope(
            reloaded.get('default_scope', 'mmdet')):
        model = MODELS.build(reloaded.model)
    model.load_state_dict(saved['state_dict'], strict=True)


def export(ckpt_path: str, out_dir: str, config: str = None,
           student_type: Optional[str] = None, verify: bool = True) -> dict:
    """Write ``out_dir/student_config.py`` and ``out_dir/student.pth`` (see the
    module docstring); ``student_type``: the student's mmdet detector class,
    ``None``: inferred (:func:`infer_student_type`). Returns their paths, the
    student's class, the dropped state-dict keys and the number of exported
    tensors."""
    state_dict, meta, cfg = load_training_checkpoint(ckpt_path, config)
    student_cfg = student_config(cfg, student_type)
    weights = student_state_dict(state_dict)
    dropped = sorted(k for k in state_dict if _strip_module(k) not in weights)

    os.makedirs(out_dir, exist_ok=True)
    cfg_path = osp.join(out_dir, 'student_config.py')
    ckpt_out = osp.join(out_dir, 'student.pth')
    with open(cfg_path, 'w', encoding='utf-8') as f:
        f.write(f'# Student exported by ctkd_det tools/export_student.py from\n'
                f'# {osp.abspath(ckpt_path)}: a plain mmdet config.\n')
        f.write(student_cfg.pretty_text)
    torch.save(dict(meta=export_meta(meta, ckpt_path), state_dict=weights),
               ckpt_out)
    if verify:
        verify_export(cfg_path, ckpt_out)
    return dict(config=cfg_path, checkpoint=ckpt_out,
                student_type=student_cfg.model.type, dropped=dropped,
                num_tensors=len(weights))
