"""Where does a distilled student lose mAP75: box regression or score ranking?

For trained runs (work dirs with ``config.py`` and ``last_checkpoint``), run the
student on the val split and match its detections to the ground truth (greedy by
score per image and class, IoU >= 0.5, COCO-style):

* ``iou_tp``:  mean IoU of the true positives with their ground truth: how well
  the boxes are *regressed*;
* ``r75/r50``: of the objects found at IoU 0.5, the fraction found at IoU 0.75;
* ``rank``:    Spearman correlation between score and IoU (best same-class
  ground truth, 0 if none) over all detections with score >= 0.05: whether the
  scores *rank* well-localised boxes above loose ones;
* ``loss_bbox``: the training log's mean ``loss_bbox`` over the last epoch.

Usage: ``python tools/box_quality.py RUN_DIR [RUN_DIR ...] [--group-by-parent]``
(e.g. ``work_dirs/experiment/*/seed*``); prints a Markdown table.
"""
import argparse
import os.path as osp
import statistics
import sys
from collections import defaultdict

import numpy as np
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import ctkd_det  # noqa: F401,E402
from ctkd_det.apis import last_checkpoint, read_scalars  # noqa: E402


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

    Returns ``tp_ious`` (IoU of every true positive), ``n_gt`` and, per
    detection, ``(score, best same-class IoU)``."""
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


def spearman(x, y) -> float:
    if len(x) < 2:
        return float('nan')
    rx = np.argsort(np.argsort(x)).astype(float)
    ry = np.argsort(np.argsort(y)).astype(float)
    return float(np.corrcoef(rx, ry)[0, 1])


def summarise(tp_ious, pairs, score_thr=0.05) -> dict:
    tp = np.asarray(tp_ious)
    kept = [(s, i) for s, i in pairs if s >= score_thr]
    return dict(
        iou_tp=float(tp.mean()) if len(tp) else float('nan'),
        r75_over_r50=float((tp >= 0.75).mean()) if len(tp) else float('nan'),
        rank=spearman([s for s, _ in kept], [i for _, i in kept]),
        n_tp=int(len(tp)))


@torch.no_grad()
def evaluate_run(run_dir: str) -> dict:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint
    from mmdet.registry import MODELS

    cfg = Config.fromfile(osp.join(run_dir, 'config.py'))
    if 'teacher_ckpt' in cfg.model:  # the student predicts alone: no teacher
        cfg.model.teacher_ckpt = None  # weights to read
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    load_checkpoint(model, last_checkpoint(run_dir), map_location='cpu',
                    logger='silent')
    model.eval()
    loader = Runner.build_dataloader(cfg.val_dataloader)
    # ground truth in original-image pixels, as the dataset parsed it from the
    # annotation file (whether the pipeline loads it before or after Resize)
    dataset = loader.dataset
    gts = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        inst = [x for x in info['instances'] if not x.get('ignore_flag', 0)]
        gts[info['img_id']] = (
            np.asarray([x['bbox'] for x in inst], float).reshape(-1, 4),
            np.asarray([x['bbox_label'] for x in inst], int))
    tp_ious, pairs = [], []
    for batch in loader:
        for sample in model.test_step(batch):
            pred = sample.pred_instances  # rescaled to the original image
            t, _, p = match_image(
                pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy(),
                *gts[sample.metainfo['img_id']])
            tp_ious += t
            pairs += p
    out = summarise(tp_ious, pairs)
    train = [r for r in read_scalars(run_dir) if 'loss_bbox' in r]
    last_epoch = max((r.get('epoch', 0) for r in train), default=0)
    out['loss_bbox'] = statistics.mean(
        r['loss_bbox'] for r in train if r.get('epoch', 0) == last_epoch) \
        if train else float('nan')
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('runs', nargs='+', help='training work dirs')
    p.add_argument('--group-by-parent', action='store_true',
                   help='average the runs of one parent dir (e.g. seeds)')
    args = p.parse_args(argv)
    groups = defaultdict(list)
    for run in args.runs:
        key = osp.basename(osp.dirname(osp.normpath(run))) \
            if args.group_by_parent else run
        res = evaluate_run(run)
        print(f'{run}: ' + ', '.join(f'{k} {v:.3f}' if isinstance(v, float)
                                     else f'{k} {v}' for k, v in res.items()),
              flush=True)
        groups[key].append(res)
    cols = ('iou_tp', 'r75_over_r50', 'rank', 'loss_bbox', 'n_tp')
    print()
    print('| run | runs | ' + ' | '.join(cols) + ' |')
    print('|---|---|' + '---|' * len(cols))
    for key, rs in groups.items():
        cells = [f'{statistics.mean(r[c] for r in rs):.3f}' for c in cols]
        print(f'| {key} | {len(rs)} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
