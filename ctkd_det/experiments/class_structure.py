"""Does a benchmark have what RoI-logit KD transfers? Two measurements.

1. **RoI confusion of a detector** (:func:`roi_confusion`): its RoI head scores
   the *ground-truth* boxes of a split (the RoIs a perfect RPN would give), and
   per ground-truth class ``k`` we average the softmax over the ``C + 1``
   columns. Of the off-target mass on other *classes* (background left out),
   ``within_family`` is the share on ``k``'s siblings (same COCO
   ``supercategory``); ``chance`` is that share if the mass were spread evenly
   (``(|family| - 1) / (C - 1)``). ``within_family`` far above ``chance`` means
   the teacher's soft labels say which wrong classes are plausible: the "dark
   knowledge" KD transfers.
2. **Classification vs localisation error** (:func:`error_breakdown`), the
   COCO error analysis of Hoiem et al. as the COCO API's ``analyze`` defines it:
   AP at IoU 0.75 (``C75``), 0.5 (``C50``), 0.1 (``Loc``: localisation errors
   forgiven), then at IoU 0.1 with false positives on a same-family object
   (``Sim``) and on any other-class object (``Oth``) ignored (pycocotools
   ignores a detection matched to a crowd box). ``Oth - Loc`` is what
   classification costs, ``Loc - C50`` what localisation costs (AP points,
   mean over classes).

CLI: ``tools/class_structure.py``.
"""
import copy
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config

__all__ = ['load_detector', 'predict', 'roi_confusion', 'error_breakdown',
           'coco_analyze', 'BREAKDOWN_LEVELS']

BREAKDOWN_LEVELS = ('C75', 'C50', 'Loc', 'Sim', 'Oth')


def load_detector(config: str, checkpoint: str, split: Optional[str] = None):
    """``(cfg, model, loader)``: the detector of ``config`` (a distillation
    detector predicts with its student: its teacher checkpoint is not read) in
    eval mode with ``checkpoint``'s weights, and the config's val loader, on
    ``split`` (e.g. ``dev``) if given."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    from mmdet.registry import MODELS
    from ctkd_det.datasets.glyphs import set_eval_split
    cfg = Config.fromfile(config)
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    if split is not None:
        set_eval_split(cfg, split)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    return cfg, model, Runner.build_dataloader(cfg.val_dataloader)


def _gt_boxes(dataset, index: Dict[int, int], sample) -> tuple:
    """Ground-truth boxes ``(M, 4)`` (xyxy, in the model's input pixels) and
    labels ``(M,)`` of one packed test sample, read from the dataset's
    annotations (ignored instances left out); ``index``: img_id -> dataset
    index."""
    info = dataset.get_data_info(index[sample.metainfo['img_id']])
    inst = [x for x in info['instances'] if not x.get('ignore_flag', 0)]
    boxes = np.asarray([x['bbox'] for x in inst], np.float32).reshape(-1, 4)
    sx, sy = sample.metainfo.get('scale_factor', (1.0, 1.0))
    boxes = boxes * np.array([sx, sy, sx, sy], np.float32)
    return torch.from_numpy(boxes), torch.as_tensor(
        [x['bbox_label'] for x in inst], dtype=torch.long)


@torch.no_grad()
def roi_confusion(model, loader) -> dict:
    """The model's RoI-head softmax on every ground-truth box of ``loader``:
    ``matrix`` ``(C, C + 1)`` (row k: mean over class-k boxes), ``accuracy``
    (argmax over the C + 1 columns = k), ``within_family`` / ``chance`` (mean
    over boxes, see the module docstring), ``wrong_in_family`` (of the boxes
    whose argmax is another class, the share of a sibling), ``bg_mass`` (mean
    background probability) and ``n``."""
    from mmdet.structures.bbox import bbox2roi
    dataset = loader.dataset
    classes = dataset.metainfo['classes']
    fam = _families(dataset)
    num = len(classes)
    same = torch.tensor([[fam[i] == fam[j] and i != j for j in range(num)]
                         for i in range(num)])
    index = {dataset.get_data_info(i)['img_id']: i
             for i in range(len(dataset))}
    probs, labels = [], []
    for batch in loader:
        data = model.data_preprocessor(batch, False)
        boxes, labs = zip(*(_gt_boxes(dataset, index, s)
                            for s in data['data_samples']))
        if sum(len(b) for b in boxes) == 0:
            continue
        feats = model.extract_feat(data['inputs'])
        rois = bbox2roi(list(boxes))
        score = model.roi_head._bbox_forward(feats, rois)['cls_score']
        probs.append(score.float().softmax(-1))
        labels.append(torch.cat(labs))
    p, y = torch.cat(probs), torch.cat(labels)
    cls_p = p[:, :num].clone()
    cls_p[torch.arange(len(y)), y] = 0  # off-target mass on other classes
    off = cls_p.sum(1).clamp(min=1e-12)
    within = (cls_p * same[y]).sum(1) / off
    chance = same[y].sum(1).float() / (num - 1)
    pred = p.argmax(1)
    wrong = (pred != y) & (pred < num)
    matrix = torch.zeros(num, num + 1)
    for k in range(num):
        if (y == k).any():
            matrix[k] = p[y == k].mean(0)
    return dict(
        matrix=matrix.tolist(), classes=list(classes),
        accuracy=float((pred == y).float().mean()),
        within_family=float(within.mean()), chance=float(chance.mean()),
        wrong_in_family=float(same[y[wrong], pred[wrong]].float().mean())
        if wrong.any() else float('nan'),
        bg_mass=float(p[:, num].mean()), n=int(len(y)))


def _families(dataset) -> List[str]:
    """Family (COCO ``supercategory``) of each class of ``dataset``, in class
    order; each class is its own family when the annotations have none."""
    import json
    with open(dataset.ann_file) as f:  # mmdet drops dataset.coco after loading
        cats = {c['name']: c.get('supercategory')
                for c in json.load(f)['categories']}
    return [cats.get(c) or c for c in dataset.metainfo['classes']]


@torch.no_grad()
def predict(model, loader) -> List[dict]:
    """COCO-format detections (``image_id``, ``category_id``, ``bbox`` xywh in
    original-image pixels, ``score``) of ``model`` on every image of
    ``loader``."""
    dataset = loader.dataset
    cat_ids = dataset.cat_ids
    dets = []
    for batch in loader:
        for sample in model.test_step(batch):
            pred = sample.pred_instances
            for box, score, label in zip(pred.bboxes.tolist(),
                                         pred.scores.tolist(),
                                         pred.labels.tolist()):
                x1, y1, x2, y2 = box
                dets.append(dict(image_id=sample.metainfo['img_id'],
                                 category_id=cat_ids[label],
                                 bbox=[x1, y1, x2 - x1, y2 - y1],
                                 score=float(score)))
    return dets


def _mean_ap(gt: dict, dets: List[dict], iou: float) -> float:
    """AP at one IoU threshold (all areas, 100 detections), mean over the
    categories with ground truth, in [0, 1]."""
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        if not dets:
            return 0.0
        ev = COCOeval(coco, coco.loadRes(copy.deepcopy(dets)), 'bbox')
        ev.params.iouThrs = np.array([iou])
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval['precision'][0, :, :, 0, -1]  # (recall, K) all areas, 100
    valid = (prec > -1).all(0)
    return float(prec[:, valid].mean()) if valid.any() else 0.0


def _with_confusers(gt: dict, same_family_only: bool) -> dict:
    """``gt`` plus, for every box and every other class (of its family, or
    any), a crowd copy of the box in that class: a detection of that class on
    the object is then ignored rather than a false positive."""
    fam = {c['id']: c.get('supercategory') or c['name']
           for c in gt['categories']}
    out = copy.deepcopy(gt)
    next_id = max((a['id'] for a in gt['annotations']), default=0) + 1
    extra = []
    for a in gt['annotations']:
        for cid in fam:
            if cid == a['category_id'] or (
                    same_family_only and fam[cid] != fam[a['category_id']]):
                continue
            extra.append(dict(a, id=next_id, category_id=cid, iscrowd=1))
            next_id += 1
    out['annotations'] = out['annotations'] + extra
    return out


def coco_analyze(gt: dict, dets: List[dict]) -> Dict[str, float]:
    """AP (mean over classes, in [0, 1]) at the levels ``BREAKDOWN_LEVELS``
    (see the module docstring), plus ``cls_error = Oth - Loc``,
    ``family_error = Sim - Loc`` and ``loc_error = Loc - C50``."""
    out = dict(C75=_mean_ap(gt, dets, 0.75), C50=_mean_ap(gt, dets, 0.5),
               Loc=_mean_ap(gt, dets, 0.1),
               Sim=_mean_ap(_with_confusers(gt, True), dets, 0.1),
               Oth=_mean_ap(_with_confusers(gt, False), dets, 0.1))
    out.update(cls_error=out['Oth'] - out['Loc'],
               family_error=out['Sim'] - out['Loc'],
               loc_error=out['Loc'] - out['C50'])
    return out


def error_breakdown(model, loader) -> Dict[str, float]:
    """:func:`coco_analyze` of ``model``'s detections on ``loader``'s split."""
    import json
    with open(loader.dataset.ann_file) as f:
        gt = json.load(f)
    return coco_analyze(gt, predict(model, loader))


def format_confusion(res: dict, top: int = 3) -> str:
    """Summary lines of :func:`roi_confusion` plus, per class, its ``top``
    most probable other classes."""
    lines = [f"accuracy on GT boxes {res['accuracy']:.3f}, off-target class "
             f"mass within family {res['within_family']:.3f} (chance "
             f"{res['chance']:.3f}), wrong argmax in family "
             f"{res['wrong_in_family']:.3f}, background mass "
             f"{res['bg_mass']:.3f}, {res['n']} boxes"]
    names = res['classes']
    for k, row in enumerate(res['matrix']):
        others = sorted(((p, names[j]) for j, p in enumerate(row[:-1])
                         if j != k), reverse=True)[:top]
        lines.append(f'  {names[k]!s:>3}: p={row[k]:.2f}  ' + ', '.join(
            f'{n} {p:.2f}' for p, n in others))
    return '\n'.join(lines)


def breakdown_table(rows: Dict[str, Dict[str, float]]) -> str:
    """Markdown table of :func:`coco_analyze` results (AP in points)."""
    cols = BREAKDOWN_LEVELS + ('loc_error', 'family_error', 'cls_error')
    out = ['| model | ' + ' | '.join(cols) + ' |',
           '|---|' + '---:|' * len(cols)]
    for name, r in rows.items():
        out.append(f'| {name} | ' + ' | '.join(
            f'{100 * r[c]:.1f}' for c in cols) + ' |')
    return '\n'.join(out)


def summarise_runs(results: Dict[str, List[Dict[str, float]]]
                   ) -> Dict[str, Dict[str, float]]:
    """Mean of each level over the runs of each name."""
    out = {}
    for name, rs in results.items():
        acc = defaultdict(list)
        for r in rs:
            for k, v in r.items():
                acc[k].append(v)
        out[name] = {k: float(np.mean(v)) for k, v in acc.items()}
    return out


def run_files(run_dir: str) -> tuple:
    """``(config, checkpoint)`` of a training work dir (its dumped config:
    ``config.py`` or the one ``*.py`` mmengine wrote, and its last
    checkpoint)."""
    import glob

    from ctkd_det.apis import last_checkpoint
    config = osp.join(run_dir, 'config.py')
    if not osp.isfile(config):
        found = glob.glob(osp.join(run_dir, '*.py'))
        if len(found) != 1:
            raise FileNotFoundError(f'{run_dir}: no config.py (found {found})')
        config = found[0]
    return config, last_checkpoint(run_dir)
