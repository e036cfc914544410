r"""Training-step cost of distillation: student alone vs KD vs CTKD (vs RLKD).

On one fixed batch (generated shapes images through the config's train pipeline;
``model.train_step`` runs the data preprocessor), times a full training step --
forward, backward and optimizer step through the optim wrapper the Runner would
build (``mmengine.optim.build_optim_wrapper`` on ``cfg.optim_wrapper``, paramwise
settings included), plus the ``.item()`` of the logged values that the Runner's
message hub does -- for each variant, interleaved (A B C D A B C D ...) after
warm-up rounds, the order rotated every round (A B C D, B C D A, ...), so that
drift in machine load hits every variant alike and no variant always follows
the same other one.

Reported per variant: median / mean / min step time, the ratio of its median to
vanilla KD's and to the student's (the issue's acceptance criterion: CTKD-global
<= 1.02x KD, CTKD-instance <= 1.05x KD), the median of the per-round ratios (paired,
more robust on a loaded machine), and peak memory:

* ``device='cuda'``: ``torch.cuda.max_memory_allocated`` over the variant's steps
  (tensors allocated by PyTorch on the GPU, caching-allocator slack excluded).
* CPU: peak resident set size (``resource.getrusage(...).ru_maxrss``) of a fresh
  child process (``python -m ctkd_det.experiments.benchmark``) that builds only
  that variant and runs a few steps; reported both in total (interpreter +
  libraries + models + data) and as the increase caused by the training steps
  over the process's peak right after building the model (activations,
  gradients, optimizer state). ``memory=False`` skips it.

RLKD (``RLTemperature``, when its config exists): timed acting (the agent samples
T per RoI and its transitions are collected every step, as RLTemperatureHook
does); the PPO update that the hook runs every ``update_interval`` iterations is
not part of ``train_step`` and not included.

Weights do not change the cost, so distillation variants get a randomly
initialised teacher (``teacher_ckpt=None``). Each step runs the teacher forward
anew, unless the config turns the teacher feature cache on
(``model.teacher_cache_mb``, as the glyphs configs do): then every timed step
hits it, which is a cached run's steady state after its first epoch; compare
with ``NAME=CONFIG:model.teacher_cache_mb=0``. Learnable temperatures get ``lambda_ = 1``
(the post-curriculum state; the compute is the same for any lambda). The learning
rate is the schedule's first-iteration value (``lr * LinearLR.start_factor``) so
that many steps on one batch stay finite; it does not change the cost.

CLI: ``tools/benchmark.py``.
"""
import argparse
import json
import math
import os
import os.path as osp
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .plans import SHAPES
from .runs import REPO

DEFAULT_CONFIGS = [
    ('student', osp.join(SHAPES, 'faster-rcnn_r18_fpn_shapes.py')),
    ('kd', osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py')),
    ('ctkd-global',
     osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_ctkd-global_cpu_shapes.py')),
    ('ctkd-instance',
     osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_ctkd-instance_cpu_shapes.py')),
]
RLKD_CONFIG = osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_rlkd_cpu_shapes.py')
# the acceptance criterion: median step time relative to vanilla KD
CRITERIA = {'ctkd-global': 1.02, 'ctkd-instance': 1.05}


@dataclass
class BenchmarkSettings:
    """What to measure and how (the CLI's options)."""
    steps: int = 20  # timed rounds (one step of every variant each)
    warmup: int = 3  # untimed rounds first
    device: str = 'cpu'  # cpu, cuda or cuda:N
    batch_size: int = 8
    size: int = 160  # image side (px)
    threads: int = 0  # torch threads; 0: torch's choice
    memory: bool = True  # CPU: peak RSS of one child process per variant
    memory_steps: int = 3  # steps per child process
    breakdown: bool = False  # also time the parts of a step
    aa: bool = False  # A/A control: a second instance of kd ('kd-copy')
    data_root: Optional[str] = None  # a set on disk; None: fresh shapes

    @property
    def cuda(self) -> bool:
        return self.device.startswith('cuda')


# -- variants -------------------------------------------------------------------
def default_configs() -> List[tuple]:
    """Student, KD, CTKD global/instance, and RLKD when its config exists."""
    configs = list(DEFAULT_CONFIGS)
    if osp.isfile(RLKD_CONFIG):
        configs.append(('rlkd', RLKD_CONFIG))
    return configs


def parse_config_arg(items: List[str]) -> List[tuple]:
    """``name=path`` items (a bare path is named after its file); a path may
    end with config overrides ``:key=value`` (one or more, values as Python
    literals), e.g. ``kd=configs/glyphs/...py:model.teacher_cache_mb=0``: the
    same config without the teacher feature cache."""
    out = []
    for item in items:
        name, sep, path = item.partition('=')
        if not sep:
            name, path = osp.splitext(osp.basename(item))[0], item
        file = path.split(':')[0]
        if not osp.isfile(file):
            raise FileNotFoundError(f'--configs: {file} not found')
        config_overrides(path)  # a malformed override fails here
        out.append((name, path))
    names = [n for n, _ in out]
    if len(set(names)) != len(names):
        raise ValueError(f'--configs: duplicate names {names}')
    return out


def select_variants(configs: Optional[List[tuple]], aa: bool) -> List[tuple]:
    """``(name, config)`` pairs to time: ``configs`` or the defaults, plus a
    copy of ``kd`` named ``kd-copy`` for the A/A control."""
    configs = list(configs) if configs else default_configs()
    if aa:
        kd = dict(configs).get('kd')
        if kd is None:
            raise ValueError('--aa needs a variant named kd')
        configs.append(('kd-copy', kd))
    return configs


def round_order(names: List[str], r: int) -> List[str]:
    """Round ``r``'s order, rotated every round (A B C, B C A, C A B, ...): no
    variant always runs right after the same other one."""
    k = r % len(names)
    return names[k:] + names[:k]


# -- building ------------------------------------------------------------------
def config_overrides(spec: str) -> Dict[str, object]:
    """The ``:key=value`` overrides at the end of a config spec (see
    :func:`parse_config_arg`) as ``{key: value}``."""
    import ast
    out = {}
    for item in spec.split(':')[1:]:
        key, sep, value = item.partition('=')
        if not (sep and key):
            raise ValueError(f'--configs: override {item!r} of {spec} is not '
                             'key=value')
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def load_config(path: str, size: int, data_root: Optional[str] = None):
    """The config ``path`` (with its ``:key=value`` overrides) at ``size`` px
    on ``data_root``, teacher randomly initialised (``teacher_ckpt=None``)."""
    from mmengine.config import Config

    from ctkd_det.apis import set_data_root, set_img_size
    cfg = Config.fromfile(path.split(':')[0])
    cfg.merge_from_dict(config_overrides(path))
    if data_root is not None:
        set_data_root(cfg, data_root)
    set_img_size(cfg, size)
    if 'teacher_config' in cfg.model:  # a distillation detector
        cfg.model.teacher_ckpt = None  # timing does not depend on weights
    return cfg


def make_batch(cfg, batch_size: int):
    """The first ``batch_size`` training images through the config's train
    pipeline, collated as the Runner's dataloader does (``pseudo_collate``)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    if len(dataset) < batch_size:
        raise RuntimeError(f'{len(dataset)} images for a batch of {batch_size}')
    return pseudo_collate([dataset[i] for i in range(batch_size)])


def first_iteration_optim_cfg(cfg):
    """``cfg.optim_wrapper`` with the LR of the schedule's first iteration
    (``lr * LinearLR.start_factor``)."""
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.optimizer = optim_cfg.optimizer.copy()
    start = [s.get('start_factor', 1.0) for s in cfg.get('param_scheduler', [])
             if s.get('type') == 'LinearLR']
    if start and 'lr' in optim_cfg.optimizer:
        optim_cfg.optimizer.lr = optim_cfg.optimizer.lr * start[0]
    return optim_cfg


def build_variant(cfg, device: str):
    """Model (weights initialised as the Runner does, temperature past its
    curriculum) and its optim wrapper."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    import torch
    model = MODELS.build(cfg.model)
    # the student's initialisation must not depend on how many random numbers
    # the temperature module drew while being built (see same_weights)
    torch.manual_seed(0)
    model.init_weights()
    model = model.to(device)
    model.train()
    temperature = getattr(model, 'temperature', None)
    if temperature is not None and hasattr(temperature, 'lambda_'):
        temperature.lambda_ = 1.0
    if temperature is not None and hasattr(temperature, 'acting'):
        # RLTemperature: past its warm-up, the agent acts every step (what
        # RLTemperatureHook switches on); see train_step for the rest
        temperature.acting = True
    return model, build_optim_wrapper(model, first_iteration_optim_cfg(cfg))


def same_weights(models) -> None:
    """Give every variant the first one's student (and teacher) weights.

    Seeding alone is not enough: temperature modules built with random
    initialisation (the instance MLP, the RL agent) consume random numbers
    before ``init_weights``, so the students would start from different weights,
    propose different boxes and sample different foreground/background RoIs --
    a different workload, measured at up to ~10 % of a step.
    """
    import torch
    ref = models[0].state_dict()
    teacher_ref = next((m.teacher.state_dict() for m in models
                        if hasattr(m, 'teacher')), None)
    with torch.no_grad():
        for m in models[1:]:
            own = m.state_dict()
            common = {k: v for k, v in ref.items()
                      if k in own and own[k].shape == v.shape
                      and not k.startswith('temperature.')}
            m.load_state_dict(common, strict=False)
        for m in models:
            if hasattr(m, 'teacher') and teacher_ref is not None:
                m.teacher.load_state_dict(teacher_ref)


def shapes_root(tmp: str, batch_size: int, size: int) -> str:
    """A generated shapes set under ``tmp`` with ``batch_size`` training
    images of ``size`` px."""
    from ctkd_det.datasets import make_shapes
    root = osp.join(tmp, 'shapes')
    make_shapes(root, num_train=batch_size, num_val=1, size=size, seed=0)
    return root


def batch_root(tmp: str, settings: BenchmarkSettings) -> str:
    """Where the fixed batch comes from: ``settings.data_root`` (a set on disk
    the configs can read, e.g. data/glyphs for the glyphs configs) or a fresh
    shapes set under ``tmp``."""
    if settings.data_root is None:
        return shapes_root(tmp, settings.batch_size, settings.size)
    if not osp.isdir(settings.data_root):
        raise FileNotFoundError(f'--data-root {settings.data_root}: no such '
                                'directory')
    return osp.abspath(settings.data_root)


def build_variants(configs: List[tuple], settings: BenchmarkSettings):
    """``(variants, data)``: ``name -> dict(model, optim, path)`` with the same
    starting weights, and the one fixed batch every variant trains on."""
    import torch
    with tempfile.TemporaryDirectory() as tmp:
        root = batch_root(tmp, settings)
        variants, data = {}, None
        for name, path in configs:
            cfg = load_config(path, settings.size, root)
            if data is None:  # one fixed batch, the same for every variant
                data = make_batch(cfg, settings.batch_size)
            # the same seed for every variant: the students (and teachers) start
            # from the same weights, so proposals and sampled RoIs match
            torch.manual_seed(0)
            model, optim_wrapper = build_variant(cfg, settings.device)
            variants[name] = dict(model=model, optim=optim_wrapper, path=path)
    same_weights([v['model'] for v in variants.values()])
    return variants, data


# -- timing ----------------------------------------------------------------------
def train_step(model, optim_wrapper, data, device: str) -> Dict[str, float]:
    """One Runner training iteration's model work, synchronised."""
    import torch
    temp = getattr(model, 'temperature', None)
    agent = getattr(temp, 'agent', None) if getattr(temp, 'acting', False) \
        else None
    if agent is not None:  # RLTemperatureHook's per-iteration work
        agent.begin_step()
    log_vars = model.train_step(data, optim_wrapper)
    if agent is not None:
        record = model.last_roi_record
        batch = agent.end_step(record.labels, record.ious)
        if batch is None:
            raise RuntimeError('benchmark: the RLKD agent acted but collected '
                               'no transitions')
    # the Runner's message hub .item()s every logged value (a device sync)
    values = {k: float(v.item()) if hasattr(v, 'item') else float(v)
              for k, v in log_vars.items()}
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    return values


def timed_step(variant: dict, data, device: str):
    """``(wall s, CPU s, logged values, peak GPU bytes or 0)`` of one
    :func:`train_step`."""
    import torch
    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    c0, t0 = time.process_time(), time.perf_counter()
    values = train_step(variant['model'], variant['optim'], data, device)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    peak = torch.cuda.max_memory_allocated() if cuda else 0
    return dt, dc, values, peak


def time_variants(variants: dict, data, settings: BenchmarkSettings,
                  log=print) -> Tuple[dict, dict, dict]:
    """Warm-up then timed rounds, interleaved (:func:`round_order`).

    Returns per variant the wall and CPU seconds of the timed steps and the
    peak GPU bytes over all steps (0 on CPU)."""
    names = list(variants)
    times = {n: [] for n in names}
    cpu_times = {n: [] for n in names}
    peak_gpu = {n: 0 for n in names}
    for r in range(settings.warmup + settings.steps):
        for name in round_order(names, r):
            dt, dc, values, peak = timed_step(variants[name], data,
                                              settings.device)
            peak_gpu[name] = max(peak_gpu[name], peak)
            bad = [k for k, val in values.items()
                   if k.startswith('loss') and not math.isfinite(val)]
            if bad:
                log(f'warning: {name}: non-finite {bad} at round {r}')
            if r >= settings.warmup:
                times[name].append(dt)
                cpu_times[name].append(dc)
        if r >= settings.warmup:
            log(f'round {r - settings.warmup + 1}/{settings.steps}: ' +
                ', '.join(f'{n} {times[n][-1]:.3f}s' for n in names))
        else:
            log(f'warm-up {r + 1}/{settings.warmup}')
    return times, cpu_times, peak_gpu


# -- results ---------------------------------------------------------------------
def environment(settings: BenchmarkSettings) -> dict:
    """Device, machine, torch and the settings the numbers were measured with."""
    import torch
    return dict(
        device=settings.device,
        device_name=(torch.cuda.get_device_name() if settings.cuda
                     else platform.processor() or platform.machine()),
        cpu_count=os.cpu_count(), torch_threads=torch.get_num_threads(),
        load_average=list(os.getloadavg()) if hasattr(os, 'getloadavg')
        else None,
        torch=torch.__version__, batch_size=settings.batch_size,
        size=settings.size, steps=settings.steps, warmup=settings.warmup)


def variant_stats(paths: Dict[str, str], times: dict, cpu_times: dict,
                  peak_gpu: Optional[dict] = None) -> Dict[str, dict]:
    """Per variant: step-time statistics, ratios of medians to ``kd`` and
    ``student`` (wall, paired per round, CPU time), and on CUDA the peak GPU
    memory (``peak_gpu``: bytes)."""
    med = {n: statistics.median(t) for n, t in times.items()}
    cpu_med = {n: statistics.median(t) for n, t in cpu_times.items()}
    out = {}
    for name, t in times.items():
        entry = dict(config=osp.relpath(paths[name], REPO),
                     median_s=med[name], mean_s=statistics.fmean(t),
                     min_s=min(t), max_s=max(t), cpu_median_s=cpu_med[name],
                     times_s=t, cpu_times_s=cpu_times[name])
        for ref in ('kd', 'student'):
            if ref in med:
                entry[f'ratio_to_{ref}'] = med[name] / med[ref]
                entry[f'paired_ratio_to_{ref}'] = statistics.median(
                    a / b for a, b in zip(t, times[ref]))
                entry[f'cpu_ratio_to_{ref}'] = cpu_med[name] / cpu_med[ref]
        if peak_gpu is not None:
            entry['peak_memory_mb'] = peak_gpu[name] / 1024 ** 2
            entry['memory_measure'] = ('torch.cuda.max_memory_allocated over '
                                       "the variant's steps (MiB)")
        out[name] = entry
    return out


def check_criteria(variants: Dict[str, dict]) -> Dict[str, dict]:
    """The acceptance criteria (:data:`CRITERIA`) of the variants measured
    with a ``kd`` reference: ratios and pass/fail of the median ratio."""
    out = {}
    for name, limit in CRITERIA.items():
        v = variants.get(name)
        if v is not None and 'ratio_to_kd' in v:
            out[name] = dict(limit=limit, ratio=v['ratio_to_kd'],
                             paired_ratio=v['paired_ratio_to_kd'],
                             cpu_ratio=v['cpu_ratio_to_kd'],
                             passed=v['ratio_to_kd'] <= limit)
    return out


# -- memory (CPU: one child process per variant) ---------------------------------
CPU_MEMORY_MEASURE = (
    'peak RSS (VmHWM, MiB) of a child process that builds only this variant '
    '(interpreter, libraries, model, teacher, data) and runs a few steps; '
    'delta = peak during the steps minus the RSS after building (activations, '
    'gradients, optimizer state, allocator growth)')


def _peak_rss_mb() -> float:
    """Peak resident set size of this process, in MiB.

    Linux: ``VmHWM`` of /proc/self/status -- the high-water mark of this
    process's own address space. ``ru_maxrss`` is not used there because Linux
    carries it over fork + exec, so a child of a big parent would report the
    parent's peak. Elsewhere: ``resource.getrusage(RUSAGE_SELF).ru_maxrss``.
    """
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 ** 2 if sys.platform == 'darwin' else rss / 1024


def _current_rss_mb() -> float:
    """Resident set size of this process now, in MiB (Linux)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise OSError('no VmRSS in /proc/self/status')


def _reset_peak_rss() -> bool:
    """Reset the Linux high-water mark to the current RSS (clear_refs 5)."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def memory_child(name: str, path: str, settings: BenchmarkSettings) -> dict:
    """Run inside a fresh process: build one variant, run a few steps, report
    the peak RSS after building and during the steps."""
    import gc

    import torch
    quiet_logs()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = batch_root(tmp, settings)
        cfg = load_config(path, settings.size, root)
        data = make_batch(cfg, settings.batch_size)
        torch.manual_seed(0)
        model, optim_wrapper = build_variant(cfg, 'cpu')
        gc.collect()
        built_peak = _peak_rss_mb()
        # from here on the high-water mark covers the steps only
        base = _current_rss_mb() if _reset_peak_rss() else built_peak
        for _ in range(settings.memory_steps):
            train_step(model, optim_wrapper, data, 'cpu')
        peak = _peak_rss_mb()
    return dict(name=name, peak_rss_mb=max(peak, built_peak),
                steps_peak_rss_mb=peak, built_rss_mb=base,
                step_rss_delta_mb=peak - base)


def memory_child_cmd(name: str, path: str,
                     settings: BenchmarkSettings) -> List[str]:
    """The command of :func:`memory_child` for one variant: this module run
    as ``python -m`` (see :func:`_memory_child_main`)."""
    cmd = [sys.executable, '-m', __spec__.name, f'{name}={osp.abspath(path)}',
           '--batch-size', str(settings.batch_size), '--size',
           str(settings.size), '--memory-steps', str(settings.memory_steps)]
    if settings.threads:
        cmd += ['--threads', str(settings.threads)]
    if settings.data_root is not None:
        cmd += ['--data-root', osp.abspath(settings.data_root)]
    return cmd


def measure_memory_cpu(configs: List[tuple], settings: BenchmarkSettings,
                       log=print) -> Dict[str, dict]:
    """:func:`memory_child`'s report per variant, each in its own process
    (variants whose process failed are logged and left out)."""
    out = {}
    for name, path in configs:
        log(f'memory: {name} (child process, {settings.memory_steps} steps)')
        proc = subprocess.run(memory_child_cmd(name, path, settings),
                              capture_output=True, text=True, cwd=REPO)
        lines = [ln for ln in proc.stdout.splitlines()
                 if ln.startswith('MEMORY ')]
        if proc.returncode != 0 or not lines:
            log(f'memory: {name} failed: {proc.stderr[-2000:]}')
            continue
        out[name] = json.loads(lines[-1][len('MEMORY '):])
    return out


def add_cpu_memory(variants: Dict[str, dict], memory: Dict[str, dict]) -> None:
    """Put :func:`measure_memory_cpu`'s peaks into the variants' entries."""
    for name, m in memory.items():
        variants[name].update(peak_memory_mb=m['peak_rss_mb'],
                              step_memory_delta_mb=m['step_rss_delta_mb'],
                              memory_measure=CPU_MEMORY_MEASURE)


# -- breakdown (where a step's time goes) ----------------------------------------
class _Breakdown:
    """Times the parts of each variant's steps: forward parts by wrapping the
    model's methods (one set of patches; ``active`` says whose step runs);
    backward + optimizer + logging = step - forward. Interleaved like the main
    measurement."""

    def __init__(self, variants: dict, device: str):
        self.variants, self.device = variants, device
        self.active = None
        self.totals = {n: {} for n in variants}

    def _sync(self):
        if self.device.startswith('cuda'):
            import torch
            torch.cuda.synchronize()

    def wrap(self, key, fn):
        def timed(*a, **kw):
            self._sync()
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            self._sync()
            self.totals[self.active].setdefault(key, []).append(
                time.perf_counter() - t0)
            return out
        return timed

    def run(self, data, rounds: int) -> Dict[str, Dict[str, float]]:
        import torch
        from mmdet.models.detectors import TwoStageDetector
        orig_loss, orig_quantile = TwoStageDetector.loss, torch.quantile
        # the student's own losses: mmdet's TwoStageDetector.loss
        TwoStageDetector.loss = self.wrap('student losses (fwd)', orig_loss)
        torch.quantile = self.wrap('kd_temp quantiles (fwd)', orig_quantile)
        patched = []  # (object, attribute) set on instances
        for v in self.variants.values():
            m = v['model']
            items = [(m, 'forward', 'forward total')]
            if hasattr(m, 'teacher_logits'):
                items += [(m, 'teacher_logits', 'teacher (fwd)'),
                          (m, 'kd_losses', 'kd_losses: T + loss + log (fwd)'),
                          (m.temperature, 'forward', 'temperature module (fwd)'),
                          (m.distill_loss, 'forward', 'KD loss (fwd)')]
            for obj, attr, key in items:
                setattr(obj, attr, self.wrap(key, getattr(obj, attr)))
                patched.append((obj, attr))
        step = self.wrap('step total', train_step)
        try:
            names = list(self.variants)
            for r in range(rounds):
                for name in round_order(names, r):
                    v = self.variants[name]
                    self.active = name
                    step(v['model'], v['optim'], data, self.device)
        finally:
            TwoStageDetector.loss, torch.quantile = orig_loss, orig_quantile
            for obj, attr in patched:
                obj.__dict__.pop(attr, None)
        out = {}
        for name, totals in self.totals.items():
            med = {k: statistics.median(t) for k, t in totals.items()}
            med['backward + optimizer + log (step - forward)'] = \
                med['step total'] - med['forward total']
            out[name] = med
        return out


def kd_losses_microbench(model, device, rois, steps=50) -> Optional[float]:
    """Median seconds of ``kd_losses`` forward + backward alone (temperature
    module, KD loss, quantile logging) on random ``(rois, C)`` logits: what the
    temperature adds over fixed-T KD, free of the detector's noise."""
    import torch
    if not hasattr(model, 'kd_losses'):
        return None
    c = model.roi_head.bbox_head.num_classes + 1
    s = torch.randn(rois, c, device=device, requires_grad=True)
    t = torch.randn(rois, c, device=device)

    def once():
        model.kd_losses(s, t)['loss_kd'].backward()
        if device.startswith('cuda'):
            torch.cuda.synchronize()

    for _ in range(5):
        once()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    model.zero_grad(set_to_none=True)
    return statistics.median(times)


def _rcnn_samples(model) -> int:
    """RoIs sampled per image for the RoI head (the sampler's ``num``)."""
    try:
        return int(model.train_cfg['rcnn']['sampler']['num'])
    except (KeyError, TypeError):
        return 512


def breakdown(variants: dict, data, settings: BenchmarkSettings,
              log=print) -> Dict[str, Dict[str, float]]:
    """Median seconds of the parts of each variant's step over more
    interleaved rounds, plus the ``kd_losses`` microbenchmark."""
    rounds = max(3, settings.steps // 2)
    log(f'breakdown: {rounds} more interleaved rounds with timers')
    out = _Breakdown(variants, settings.device).run(data, rounds)
    for name, v in variants.items():
        micro = kd_losses_microbench(
            v['model'], settings.device,
            rois=settings.batch_size * _rcnn_samples(v['model']))
        if micro is not None:
            out[name]['kd_losses fwd+bwd alone (microbench)'] = micro
    return out


# -- the benchmark ---------------------------------------------------------------
def quiet_logs():
    """mmengine's INFO lines (paramwise options ...) would bury the results."""
    from mmengine.logging import MMLogger
    MMLogger.get_instance('benchmark', log_level='WARNING')


def log_setup(configs: List[tuple], settings: BenchmarkSettings,
              log=print) -> None:
    """The variants and settings, and a note when a busy machine will make
    multi-threaded CPU timings scatter."""
    import torch
    threads = torch.get_num_threads()
    log('variants: ' + ', '.join(f'{n} ({osp.relpath(p, REPO)})'
                                 for n, p in configs))
    log(f'device {settings.device}, torch {torch.__version__}, {threads} '
        f'threads, batch {settings.batch_size} x {settings.size}px, '
        f'{settings.warmup} warm-up + {settings.steps} timed rounds')
    load = os.getloadavg()[0] if hasattr(os, 'getloadavg') else 0.0
    if settings.device == 'cpu' and threads > 1 and \
            load > 0.5 * (os.cpu_count() or 1):
        log(f'note: the machine is busy (load {load:.1f} on {os.cpu_count()} '
            f'CPUs): with {threads} threads per step, other jobs '
            'stall every parallel region and timings scatter by tens of %; '
            '--threads 1 (and --aa for the noise floor) gives usable ratios')


def run(configs: Optional[List[tuple]] = None,
        settings: Optional[BenchmarkSettings] = None, log=print) -> dict:
    """Time ``configs`` (``(name, config path)`` pairs; default:
    :func:`default_configs`) as the module docstring describes. Returns the
    environment, per-variant statistics (``variants``), the acceptance
    ``criteria`` and, with ``settings.breakdown``, the ``breakdown``."""
    import torch
    settings = settings or BenchmarkSettings()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    if settings.cuda and not torch.cuda.is_available():
        raise RuntimeError('--device cuda but CUDA is not available')
    configs = select_variants(configs, settings.aa)
    log_setup(configs, settings, log)
    variants, data = build_variants(configs, settings)
    times, cpu_times, peak_gpu = time_variants(variants, data, settings, log)

    result = environment(settings)
    result['variants'] = variant_stats(
        {n: v['path'] for n, v in variants.items()}, times, cpu_times,
        peak_gpu if settings.cuda else None)
    if not settings.cuda and settings.memory:
        add_cpu_memory(result['variants'],
                       measure_memory_cpu(configs, settings, log))
    result['criteria'] = check_criteria(result['variants'])
    if settings.breakdown:
        result['breakdown'] = breakdown(variants, data, settings, log)
    return result


def format_table(result: dict) -> str:
    """Markdown table of the variants, then the criteria and breakdowns."""
    rows = ['| variant | median step (s) | min (s) | x KD | x KD (paired) | '
            'x KD (CPU time) | x student | peak memory (MiB) | '
            'step memory (MiB) |',
            '|---|---|---|---|---|---|---|---|---|']

    def f(v, key, fmt):
        return fmt.format(v[key]) if key in v else '-'
    for name, v in result['variants'].items():
        rows.append(
            f'| {name} | {v["median_s"]:.3f} | {v["min_s"]:.3f} | '
            f'{f(v, "ratio_to_kd", "{:.3f}")} | '
            f'{f(v, "paired_ratio_to_kd", "{:.3f}")} | '
            f'{f(v, "cpu_ratio_to_kd", "{:.3f}")} | '
            f'{f(v, "ratio_to_student", "{:.3f}")} | '
            f'{f(v, "peak_memory_mb", "{:.0f}")} | '
            f'{f(v, "step_memory_delta_mb", "{:.0f}")} |')
    lines = ['\n'.join(rows)]
    for name, c in result.get('criteria', {}).items():
        lines.append(
            f'{name}: {c["ratio"]:.3f}x KD (paired {c["paired_ratio"]:.3f}x, '
            f'CPU time {c["cpu_ratio"]:.3f}x), limit {c["limit"]:.2f}x: '
            f'{"PASS" if c["passed"] else "FAIL"}')
    for name, bd in result.get('breakdown', {}).items():
        lines.append(f'breakdown {name} (median ms): ' + ', '.join(
            f'{k} {v * 1000:.1f}' for k, v in bd.items()))
    return '\n'.join(lines)


def _memory_child_main(argv=None) -> None:
    """``python -m ctkd_det.experiments.benchmark NAME=CONFIG [...]``: the
    memory child of :func:`measure_memory_cpu`; prints ``MEMORY {json}``."""
    p = argparse.ArgumentParser(description=_memory_child_main.__doc__)
    p.add_argument('variant', metavar='NAME=CONFIG')
    p.add_argument('--batch-size', type=int, required=True)
    p.add_argument('--size', type=int, required=True)
    p.add_argument('--memory-steps', type=int, required=True)
    p.add_argument('--threads', type=int, default=0)
    p.add_argument('--data-root')
    args = p.parse_args(argv)
    (name, path), = parse_config_arg([args.variant])
    settings = BenchmarkSettings(batch_size=args.batch_size, size=args.size,
                                 memory_steps=args.memory_steps,
                                 threads=args.threads,
                                 data_root=args.data_root)
    print('MEMORY ' + json.dumps(memory_child(name, path, settings)))


if __name__ == '__main__':
    _memory_child_main()
