"""Where does a distilled student lose mAP75: box regression or score ranking?

For a trained run (a work dir with ``config.py`` and ``last_checkpoint``), run the
student on the val split and match its detections to the ground truth (greedy by
score per image and class, IoU >= 0.5, COCO-style):

* ``iou_tp``:  mean IoU of the true positives with their ground truth: how well
  the boxes are *regressed*;
* ``r75_over_r50``: of the objects found at IoU 0.5, the fraction found at
  IoU 0.75;
* ``rank``:    Spearman correlation between score and IoU (best same-class
  ground truth, 0 if none) over all detections with score >= 0.05: whether the
  scores *rank* well-localised boxes above loose ones. Tied values (e.g. the
  many detections with IoU 0) get their average rank;
* ``loss_bbox``: the training log's mean ``loss_bbox`` over the last epoch.

CLI: ``tools/box_quality.py``.
"""
import os.path as osp
import statistics
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from ctkd_det.apis import last_checkpoint, read_scalars

# the columns of the Markdown table, in order
COLUMNS = ('iou_tp', 'r75_over_r50', 'rank', 'loss_bbox', 'n_tp')


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of ``a`` (N, 4) and ``b`` (M, 4), xyxy boxes -> (N, M)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).prod(-1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def match_image(pred_boxes, pred_scores, pred_labels, gt_boxes, gt_labels,
                iou_thr=0.5):
    """Greedy COCO-style matching on one image.

    Boxes (N, 4) / (M, 4) xyxy, scores (N,), labels (N,) / (M,). Returns
    ``tp_ious`` (IoU of every true positive), ``n_gt`` and, per detection,
    ``(score, best same-class IoU)``."""
    tp_ious, pairs = [], []
    for cls in np.unique(np.concatenate([pred_labels, gt_labels])):
        p = np.where(pred_labels == cls)[0]
        p = p[np.argsort(-pred_scores[p], kind='stable')]
        g = np.where(gt_labels == cls)[0]
        ious = box_iou(pred_boxes[p], gt_boxes[g])
        taken = np.zeros(len(g), dtype=bool)
        for i, det in enumerate(p):
            best = ious[i].max() if len(g) else 0.0
            pairs.append((float(pred_scores[det]), float(best)))
            if not len(g):
                continue
            cand = np.where(~taken, ious[i], -1.0)
            j = int(cand.argmax())
            if cand[j] >= iou_thr:
                taken[j] = True
                tp_ious.append(float(cand[j]))
    return tp_ious, len(gt_labels), pairs


def average_ranks(x: Sequence[float]) -> np.ndarray:
    """Ranks 1..N of ``x`` (N,), tied values sharing the mean of their ranks
    (``[0.5, 0, 0.5, 0, 0] -> [4.5, 2, 4.5, 2, 2]``)."""
    x = np.asarray(x, dtype=float)
    order = np.argsort(x, kind='stable')
    ordered = x[order]
    new_value = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(new_value) - 1  # tie group of each sorted position
    first = np.flatnonzero(new_value)  # 0-based first/last position per group
    last = np.r_[first[1:], len(x)] - 1
    ranks = np.empty(len(x))
    ranks[order] = (first + last)[group] / 2 + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho of ``x`` and ``y`` (N,): the Pearson correlation of their
    average ranks; NaN for N < 2 or when either is constant."""
    if len(x) < 2:
        return float('nan')
    rx, ry = average_ranks(x), average_ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return float('nan')
    return float(np.corrcoef(rx, ry)[0, 1])


def summarise(tp_ious, pairs, score_thr=0.05) -> dict:
    """``iou_tp``, ``r75_over_r50``, ``rank`` (detections scored >= score_thr)
    and ``n_tp`` of one run's matches (see the module docstring)."""
    tp = np.asarray(tp_ious)
    kept = [(s, i) for s, i in pairs if s >= score_thr]
    return dict(
        iou_tp=float(tp.mean()) if len(tp) else float('nan'),
        r75_over_r50=float((tp >= 0.75).mean()) if len(tp) else float('nan'),
        rank=spearman([s for s, _ in kept], [i for _, i in kept]),
        n_tp=int(len(tp)))


def load_student(run_dir: str):
    """``(cfg, model)``: the run's ``config.py`` and its detector in eval mode
    with the last checkpoint's weights. A distillation detector predicts with
    its student alone, so its teacher's checkpoint is not read."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mmdet.registry import MODELS
    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    if 'teacher_ckpt' in cfg.model:
        cfg.model.teacher_ckpt = None
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, last_checkpoint(run_dir), map_location='cpu',
                    logger='silent')
    model.eval()
    return cfg, model


def ground_truth(dataset) -> Dict[int, Tuple[np.ndarray, np.ndarray]]:
    """``img_id -> (boxes (M, 4) xyxy, labels (M,))`` in original-image pixels,
    as the dataset parsed them from the annotation file (whether the pipeline
    loads them before or after ``Resize``); ignored instances left out."""
    gts = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        inst = [x for x in info['instances'] if not x.get('ignore_flag', 0)]
        gts[info['img_id']] = (
            np.asarray([x['bbox'] for x in inst], float).reshape(-1, 4),
            np.asarray([x['bbox_label'] for x in inst], int))
    return gts


@torch.no_grad()
def match_dataset(model, loader, gts) -> Tuple[List[float], List[tuple]]:
    """``(tp_ious, pairs)`` of :func:`match_image` over every image of
    ``loader``; the predictions are rescaled to the original image."""
    tp_ious, pairs = [], []
    for batch in loader:
        for sample in model.test_step(batch):
            pred = sample.pred_instances
            t, _, p = match_image(
                pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy(),
                *gts[sample.metainfo['img_id']])
            tp_ious += t
            pairs += p
    return tp_ious, pairs


def last_epoch_loss_bbox(run_dir: str) -> float:
    """Mean logged ``loss_bbox`` of the run's last training epoch (NaN if
    none was logged)."""
    train = [r for r in read_scalars(run_dir) if 'loss_bbox' in r]
    if not train:
        return float('nan')
    last_epoch = max(r.get('epoch', 0) for r in train)
    return statistics.mean(
        r['loss_bbox'] for r in train if r.get('epoch', 0) == last_epoch)


def evaluate_run(run_dir: str) -> dict:
    """:func:`summarise` of the run's student on its val split, plus the last
    epoch's training ``loss_bbox``."""
    from mmengine.runner import Runner
    cfg, model = load_student(run_dir)
    loader = Runner.build_dataloader(cfg.val_dataloader)
    out = summarise(*match_dataset(model, loader, ground_truth(loader.dataset)))
    out['loss_bbox'] = last_epoch_loss_bbox(run_dir)
    return out


def format_result(run: str, result: dict) -> str:
    """One run's numbers on a line: ``RUN: iou_tp 0.751, ...``."""
    return f'{run}: ' + ', '.join(
        f'{k} {v:.3f}' if isinstance(v, float) else f'{k} {v}'
        for k, v in result.items())


def format_table(groups: Dict[str, List[dict]]) -> str:
    """Markdown table: per group, the number of runs and the mean of every
    column of :data:`COLUMNS`."""
    rows = ['| run | runs | ' + ' | '.join(COLUMNS) + ' |',
            '|---|---|' + '---|' * len(COLUMNS)]
    for key, rs in groups.items():
        cells = [f'{statistics.mean(r[c] for r in rs):.3f}' for c in COLUMNS]
        rows.append(f'| {key} | {len(rs)} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)
