"""Cached training runs: one ``python -m ctkd_det.apis.train`` process per run.

A run is a config dumped into its work dir and trained there by its own process
(isolated mmengine global state; a crash stays in its run). A run whose cache key
is unchanged and that finished (``done.json``) is not trained again, so an
interrupted table resumes. The key is the config's digest (its seed included) and
the content digests of the files the run reads weights from (the teacher
checkpoint, a pretrained backbone, ``load_from``): a retrained teacher retrains
its students even when its checkpoint path is the same.
"""
import copy
import hashlib
import json
import os
import os.path as osp
import re
import subprocess
import sys
import threading
import time
from typing import Dict, Optional

from mmengine.config import Config

from ctkd_det.apis.work_dir import final_metrics, last_checkpoint

# the checkout the package lives in: runs start there (the configs' relative
# paths, e.g. data/shapes/, are relative to it)
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# mmengine's Config text/dump (yapf formatting, temp files) is not thread-safe;
# the experiments call train_cached from several threads
CONFIG_LOCK = threading.RLock()
_DIGESTS: Dict[tuple, str] = {}
_DIGESTS_LOCK = threading.Lock()


# Model settings that change a run's speed, not its results (as the thread count,
# which is not in the config either): left out of the digest, so that turning
# them on keeps the finished runs. ``teacher_cache_mb``: the teacher feature
# cache, whose steps equal the uncached ones (tests/test_teacher_cache.py).
SPEED_ONLY_MODEL_KEYS = ('teacher_cache_mb',)


def config_digest(cfg: Config) -> str:
    """Digest of the config's text (everything it sets, its seed included,
    except ``SPEED_ONLY_MODEL_KEYS``)."""
    with CONFIG_LOCK:
        model = cfg.get('model')
        drop = [k for k in SPEED_ONLY_MODEL_KEYS
                if isinstance(model, dict) and k in model]
        if drop:
            cfg = copy.deepcopy(cfg)
            for k in drop:
                del cfg.model[k]
        text = cfg.pretty_text
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def file_digest(path: str) -> Optional[str]:
    """Digest of a file's content (None if there is no such file); each file is
    read once per process while its size and mtime stay the same."""
    path = osp.join(REPO, path)  # a relative path is relative to the runs' cwd
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (osp.realpath(path), st.st_size, st.st_mtime_ns)
    with _DIGESTS_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    h = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    with _DIGESTS_LOCK:
        _DIGESTS[key] = h.hexdigest()[:12]
    return _DIGESTS[key]


def weight_inputs(cfg: Config) -> Dict[str, str]:
    """The files a run reads weights from: ``{config key: path}`` for
    ``model.teacher_ckpt``, every ``Pretrained`` init_cfg's checkpoint and
    ``load_from``."""
    found = {}

    def walk(node, key):
        if isinstance(node, dict):
            if node.get('type') == 'Pretrained' and node.get('checkpoint'):
                found[f'{key}.checkpoint'] = node['checkpoint']
            for k, v in node.items():
                walk(v, f'{key}.{k}' if key else k)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                walk(v, f'{key}.{i}')

    walk(cfg.get('model', {}), 'model')
    if cfg.model.get('teacher_ckpt'):
        found['model.teacher_ckpt'] = cfg.model.teacher_ckpt
    if cfg.get('load_from'):
        found['load_from'] = cfg.load_from
    return found


def cache_key(cfg: Config) -> dict:
    """What decides whether a finished run can be reused: ``key`` (the digest of
    all below), ``config`` (config digest), ``seed`` and ``inputs``
    (``{config key: {'path', 'digest'}}``, see ``weight_inputs``)."""
    inputs = {k: dict(path=p, digest=file_digest(p))
              for k, p in sorted(weight_inputs(cfg).items())}
    record = dict(config=config_digest(cfg),
                  seed=(cfg.get('randomness') or {}).get('seed'), inputs=inputs)
    record['key'] = hashlib.sha1(json.dumps(
        record, sort_keys=True).encode()).hexdigest()[:12]
    return record


def _cached_record(work_dir: str, key: str) -> Optional[dict]:
    done = osp.join(work_dir, 'done.json')
    if not osp.isfile(done):
        return None
    with open(done) as f:
        record = json.load(f)
    if record.get('key') == key and osp.isfile(record.get('checkpoint', '')):
        return record
    return None


def is_cached(cfg: Config, work_dir: str) -> bool:
    """What ``train_cached`` will find: a finished run with the same key."""
    return _cached_record(work_dir, cache_key(cfg)['key']) is not None


def thread_env(threads: int = 0) -> Dict[str, str]:
    """The environment of a training process with ``threads`` CPU threads
    (``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``; 0: this process's)."""
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def train_cached(cfg: Config, work_dir: str, name: str = '', log=print,
                 threads: int = 0) -> dict:
    """Train ``cfg`` in ``work_dir`` unless a finished run with the same cache key
    is there; ``threads``: CPU threads of the training process (0: inherited).

    Returns ``{'metrics', 'checkpoint', 'seconds', 'cached', ...}``. The run's
    console output goes to ``work_dir/train.log``; progress lines are printed via
    ``log``.
    """
    os.makedirs(work_dir, exist_ok=True)
    key = cache_key(cfg)
    record = _cached_record(work_dir, key['key'])
    if record is not None:
        log(f'[{name}] cached: {record["metrics"]}')
        return dict(record, cached=True)
    cfg_path = osp.join(work_dir, 'config.py')
    with CONFIG_LOCK:
        cfg.dump(cfg_path)
    cmd = [sys.executable, '-m', 'ctkd_det.apis.train', cfg_path,
           '--work-dir', work_dir]
    log(f'[{name}] training ({cfg.train_cfg.max_epochs} epochs): log in '
        f'{osp.join(work_dir, "train.log")}')
    start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'w') as out:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, cwd=REPO,
                                env=thread_env(threads))
        for line in proc.stdout:
            out.write(line)
            out.flush()
            _progress(line, name, log)
        proc.wait()
    seconds = time.time() - start
    if proc.returncode != 0:
        raise RuntimeError(f'[{name}] training failed (exit {proc.returncode}); '
                           f'see {osp.join(work_dir, "train.log")}')
    record = dict(key, metrics=final_metrics(work_dir),
                  checkpoint=last_checkpoint(work_dir), seconds=seconds,
                  work_dir=work_dir)
    with open(osp.join(work_dir, 'done.json'), 'w') as f:
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
