"""Run training configs as subprocesses with caching; read their logged metrics.

Used by ``tools/demo.py`` and ``tools/experiment.py``: each run is one
``tools/train.py`` process (isolated mmengine global state, a crash stays in its run)
on a config dumped into the run's work dir; a run whose config is unchanged and that
finished (``done.json``) is not trained again, so an interrupted table resumes.
"""
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from typing import Dict, List

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TRAIN = osp.join(REPO, 'tools', 'train.py')


def set_epochs(cfg: Config, max_epochs: int) -> Config:
    """Rescale an epoch-based shapes schedule to ``max_epochs``: loop length, one
    validation at the end, LR steps at 3/4 and 11/12, checkpoint at the end."""
    cfg.train_cfg.max_epochs = max_epochs
    cfg.train_cfg.val_interval = max_epochs
    for sched in cfg.get('param_scheduler', []) or []:
        if sched.get('type') == 'MultiStepLR':
            sched['end'] = max_epochs
            sched['milestones'] = sorted({max(1, max_epochs * 3 // 4),
                                          max(1, max_epochs * 11 // 12)})
    cfg.default_hooks.checkpoint.interval = max_epochs
    return cfg


def set_data_root(cfg: Config, data_root: str) -> Config:
    """Point every dataloader and evaluator of a shapes config at ``data_root``."""
    data_root = data_root.rstrip('/') + '/'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(name) is not None:
            cfg[name].dataset.data_root = data_root
    for name in ('val_evaluator', 'test_evaluator'):
        if cfg.get(name) is not None:
            cfg[name].ann_file = osp.join(
                data_root, 'annotations', osp.basename(cfg[name].ann_file))
    return cfg


def set_img_size(cfg: Config, size: int) -> Config:
    """Train/test at ``size`` px: every dataloader's ``Resize`` scale (the shapes
    configs resize to 160 px)."""
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader is None:
            continue
        for step in loader.dataset.get('pipeline', []):
            if step.get('type') == 'Resize':
                step['scale'] = (size, size)
    return cfg


# mmengine's Config text/dump (yapf formatting, temp files) is not thread-safe;
# tools/experiment.py --jobs calls train_cached from several threads
_CONFIG_LOCK = threading.RLock()


def config_digest(cfg: Config) -> str:
    with _CONFIG_LOCK:
        text = cfg.pretty_text
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def read_scalars(work_dir: str) -> List[dict]:
    """All records of the newest ``<timestamp>/vis_data/scalars.json`` under
    ``work_dir`` (mmengine's JSON scalar log), in order; [] if none."""
    if not osp.isdir(work_dir):
        return []
    runs = sorted(d for d in os.listdir(work_dir) if osp.isfile(
        osp.join(work_dir, d, 'vis_data', 'scalars.json')))
    if not runs:
        return []
    with open(osp.join(work_dir, runs[-1], 'vis_data', 'scalars.json')) as f:
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
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def train_cached(cfg: Config, work_dir: str, name: str = '',
                 log=print) -> dict:
    """Train ``cfg`` in ``work_dir`` unless an identical finished run is there.

    Returns ``{'metrics', 'checkpoint', 'seconds', 'cached'}``. The run's console
    output goes to ``work_dir/train.log``; progress lines are printed via ``log``.
    """
    os.makedirs(work_dir, exist_ok=True)
    digest = config_digest(cfg)
    done = osp.join(work_dir, 'done.json')
    if osp.isfile(done):
        with open(done) as f:
            record = json.load(f)
        if record.get('digest') == digest and osp.isfile(record['checkpoint']):
            log(f'[{name}] cached: {record["metrics"]}')
            return dict(record, cached=True)
    cfg_path = osp.join(work_dir, 'config.py')
    with _CONFIG_LOCK:
        cfg.dump(cfg_path)
    cmd = [sys.executable, TRAIN, cfg_path, '--work-dir', work_dir]
    log(f'[{name}] training ({cfg.train_cfg.max_epochs} epochs): log in '
        f'{osp.join(work_dir, "train.log")}')
    start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'w') as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=REPO)
        for line in proc.stdout:
            out.write(line)
            out.flush()
            _progress(line, name, log)
        proc.wait()
    seconds = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f'[{name}] training failed (exit {proc.returncode}); '
                           f'see {osp.join(work_dir, "train.log")}')
    record = dict(digest=digest, metrics=final_metrics(work_dir),
                  checkpoint=last_checkpoint(work_dir), seconds=seconds,
                  work_dir=work_dir)
    with open(done, 'w') as f:
        json.dump(record, f, indent=1)
    log(f'[{name}] done in {seconds / 60:.1f} min: bbox mAP '
        f'{record["metrics"]["bbox_mAP"]:.3f}')
    return dict(record, cached=False)


def _progress(line: str, name: str, log) -> None:
    """Forward mmengine's epoch-progress lines (shortened) and validation results."""
    m = re.search(r'Epoch\(train\)\s*(\[\s*\d+\]\[\s*\d+/\d+\]).*?eta: (\S+)', line)
    if m:
        loss = re.search(r' loss: (\S+)', line)
        temp = re.search(r' kd_temp: (\S+)', line)
        log(f'[{name}] epoch {m.group(1)} eta {m.group(2)} '
            f'loss {loss.group(1) if loss else "?"}'
            + (f' T {temp.group(1)}' if temp else ''))
    elif 'bbox_mAP_copypaste' in line:
        log(f'[{name}] val {line.split("bbox_mAP_copypaste:")[1].strip()}')
    elif 'Traceback' in line or 'Error' in line:
        log(f'[{name}] {line.rstrip()}')
