"""Read what a finished training run left in its work dir: mmengine's JSON scalar
log, the final COCO metrics, the last checkpoint."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional


def scalars_path(work_dir: str) -> Optional[str]:
    """The newest ``<timestamp>/vis_data/scalars.json`` under ``work_dir`` (one
    timestamp dir per training start); None if there is none."""
    if not osp.isdir(work_dir):
        return None
    stamps = sorted(d for d in os.listdir(work_dir) if osp.isfile(
        osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    return osp.join(work_dir, stamps[-1], 'vis_data', 'scalars.json') \
        if stamps else None


def read_scalars(work_dir: str) -> List[dict]:
    """All records of the newest scalar log under ``work_dir``, in order; [] if
    none."""
    path = scalars_path(work_dir)
    if path is None:
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def final_metrics(work_dir: str) -> Dict[str, float]:
    """The last validation record's ``coco/bbox_*`` metrics. A validation that
    found no box above the score threshold (CocoMetric then logs no bbox metric)
    counts as 0 mAP."""
    records = read_scalars(work_dir)
    vals = [r for r in records if 'coco/bbox_mAP' in r]
    if not vals:
        if not records:
            raise RuntimeError(f'no scalars logged under {work_dir}')
        return {k: 0.0 for k in ('bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75',
                                 'bbox_mAP_s', 'bbox_mAP_m', 'bbox_mAP_l')}
    return {k.split('/')[-1]: v for k, v in vals[-1].items()
            if k.startswith('coco/bbox_')}


def last_checkpoint(work_dir: str) -> str:
    """The checkpoint path mmengine's CheckpointHook wrote last."""
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()
