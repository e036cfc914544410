"""Distributed helpers: multi-process training without CUDA, and keeping state
that DDP does not own (the RLKD agent) identical on every rank.

**CPU distributed training (CPU-only torch, gloo).** mmengine 0.10.7's
``init_dist`` calls ``torch.cuda.set_device`` for every launcher (pytorch, slurm,
mpi), which fails on a CPU-only torch, and its ``Runner`` wraps the model in
``MMDistributedDataParallel(device_ids=[LOCAL_RANK])``, which torch's DDP refuses
for a CPU module. :func:`setup_cpu_distributed`, called by
``tools/train.py`` before the Runner is built, does both jobs the CUDA-free way:

* initialises the default process group with the **gloo** backend from the
  launcher's environment (torchrun: ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/
  ``MASTER_ADDR``/``MASTER_PORT``; Slurm: ``SLURM_PROCID``/``SLURM_NTASKS``/
  ``SLURM_LOCALID``/``SLURM_NODELIST``; Open MPI: ``OMPI_COMM_WORLD_*``).
  ``Runner.setup_env`` only calls ``init_dist`` when no group exists yet
  (``if self.distributed and not is_distributed()``), so it then skips it and
  reads rank and world size from this group;
* sets ``model_wrapper_cfg.device_ids = None`` (CPU DDP).

With CUDA available, or without a launcher, it does nothing: mmengine's own path
(NCCL) is used unchanged.

**Modules outside DDP** (no-ops in a single process). The RLKD agent is not part
of the DDP-wrapped detector (its parameters are outside ``model.parameters()``),
so DDP does not synchronise it. Every rank collects its own transitions; each
update step averages the gradients over the ranks (:func:`synced_step`:
data-parallel PPO, every rank's transitions count) and every rank applies the
same step; after an update the weights are also broadcast from rank 0
(:func:`broadcast_module`), so floating-point drift can never accumulate. Statistics the agent needs over
the *global* batch (advantage normalisation, the exploration top-k, the reward
model's batch sums) come from :func:`all_sum` and :func:`all_gather_cat`. These
helpers are collective: every rank must call them the same number of times, in
the same order.
"""
import datetime
import logging
import os
import subprocess
from typing import Iterable, List, Optional

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine import dist
from mmengine.config import Config
from mmengine.logging import print_log

__all__ = [
    'setup_cpu_distributed', 'launcher_env', 'teardown_distributed',
    'world_size', 'allreduce_grads', 'synced_step', 'broadcast_module',
    'all_min_int', 'all_sum', 'all_gather_cat'
]

DEFAULT_PORT = 29500


def _require(env: dict, keys) -> None:
    missing = [k for k in keys if k not in env]
    if missing:
        raise RuntimeError(
            f'distributed launch: environment variable(s) {missing} not set; '
            'start the processes with tools/dist_train.sh (torchrun), '
            'tools/slurm_train.sh (srun) or mpirun')


def launcher_env(launcher: str, port: Optional[int] = None,
                 environ: Optional[dict] = None) -> dict:
    """Fill ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
    ``MASTER_PORT`` in ``environ`` (default ``os.environ``) from the launcher's
    variables, as mmengine does for CUDA, and return them."""
    env = os.environ if environ is None else environ
    if launcher == 'pytorch':
        _require(env, ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'])
        env.setdefault('LOCAL_RANK', '0')
    elif launcher == 'slurm':
        _require(env, ['SLURM_PROCID', 'SLURM_NTASKS'])
        env['RANK'] = env['SLURM_PROCID']
        env['WORLD_SIZE'] = env['SLURM_NTASKS']
        env['LOCAL_RANK'] = env.get('SLURM_LOCALID', '0')
        if 'MASTER_ADDR' not in env:
            _require(env, ['SLURM_NODELIST'])
            env['MASTER_ADDR'] = subprocess.getoutput(
                f'scontrol show hostname {env["SLURM_NODELIST"]} | head -n1')
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', str(DEFAULT_PORT))
    elif launcher == 'mpi':
        _require(env, ['OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                       'MASTER_ADDR'])
        env['RANK'] = env['OMPI_COMM_WORLD_RANK']
        env['WORLD_SIZE'] = env['OMPI_COMM_WORLD_SIZE']
        env['LOCAL_RANK'] = env.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
        if port is not None:
            env['MASTER_PORT'] = str(port)
        env.setdefault('MASTER_PORT', str(DEFAULT_PORT))
    else:
        raise ValueError(f'unknown launcher {launcher!r}')
    return {k: env[k] for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK',
                                'MASTER_ADDR', 'MASTER_PORT')}


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare ``cfg`` (and the process group) for distributed training on CPU.

    Returns True if it did something (``cfg.launcher`` is not ``'none'`` and CUDA
    is not available), False otherwise.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False

    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}) or {})
    backend = dist_cfg.pop('backend', 'gloo')
    port = dist_cfg.pop('port', None)
    dist_cfg.pop('init_backend', None)
    if backend != 'gloo':
        print_log(f'no CUDA: distributed backend {backend!r} replaced by gloo',
                  logger='current', level=logging.WARNING)
    if not torch_dist.is_initialized():
        env = launcher_env(launcher, port=port)
        if dist_cfg.get('timeout') is not None:
            dist_cfg['timeout'] = datetime.timedelta(
                seconds=dist_cfg['timeout'])
        torch_dist.init_process_group(
            backend='gloo', init_method='env://', rank=int(env['RANK']),
            world_size=int(env['WORLD_SIZE']), **dist_cfg)

    # torch's DDP takes device_ids only for single-device GPU modules
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None,
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    else:
        from mmengine.registry import MODEL_WRAPPERS
        from torch.nn.parallel import DistributedDataParallel
        wrapper_cls = MODEL_WRAPPERS.get(
            wrapper.get('type', 'MMDistributedDataParallel'))
        if isinstance(wrapper_cls, type) and \
                issubclass(wrapper_cls, DistributedDataParallel):
            wrapper['device_ids'] = None
    return True


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the default process group.

    Left to interpreter shutdown, gloo's background threads can outlive the group
    of a rank that exits first, and the C++ runtime aborts the process
    ("terminate called without an active exception", SIGABRT) after training
    finished; torchrun then reports the whole job failed.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        try:
            torch_dist.barrier()
        finally:
            torch_dist.destroy_process_group()


# -- modules outside DDP (the RLKD agent) ---------------------------------------
def world_size() -> int:
    return dist.get_world_size()


@torch.no_grad()
def allreduce_grads(params: Iterable[nn.Parameter]) -> None:
    """Average ``.grad`` over the ranks, in one flat all-reduce. Parameters without
    a gradient count as zero (and get a zero ``.grad``)."""
    if world_size() <= 1:
        return
    params: List[nn.Parameter] = [p for p in params if p.requires_grad]
    if not params:
        return
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat, op='mean')
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
        offset += n


def synced_step(optimizer, params: List[nn.Parameter],
                loss: Optional[torch.Tensor],
                max_grad_norm: Optional[float] = None) -> None:
    """One optimizer step taken identically on every rank: backward of ``loss``
    (``None``: this rank has no data, it still joins with a zero gradient),
    gradients averaged over the ranks, optional norm clipping, step. The caller
    zeroes the gradients before building ``loss``."""
    if loss is None:
        loss = sum(p.sum() for p in params) * 0.
    loss.backward()
    allreduce_grads(params)
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()


@torch.no_grad()
def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Overwrite every rank's parameters and buffers with rank ``src``'s."""
    if world_size() <= 1:
        return
    tensors = [t for t in list(module.parameters()) + list(module.buffers())]
    if not tensors:
        return
    flat = torch.cat([t.detach().reshape(-1).float() for t in tensors])
    dist.broadcast(flat, src=src)
    offset = 0
    for t in tensors:
        n = t.numel()
        t.data.copy_(flat[offset:offset + n].view_as(t).to(t.dtype))
        offset += n


def all_min_int(value: int, device=None) -> int:
    """The smallest ``value`` over the ranks (e.g. 'does every rank have data?')."""
    if world_size() <= 1:
        return int(value)
    t = torch.tensor([float(value)], device=device)
    dist.all_reduce(t, op='min')
    return int(t.item())


@torch.no_grad()
def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The elementwise sum of ``tensor`` over the ranks (a new tensor; the input
    itself in a single process). Every rank passes the same shape."""
    if world_size() <= 1:
        return tensor
    out = tensor.detach().clone()
    dist.all_reduce(out, op='sum')
    return out


@torch.no_grad()
def all_gather_cat(tensor: torch.Tensor):
    """The 1-D ``tensor`` of every rank, concatenated in rank order (lengths may
    differ between ranks), and the offset of this rank's part in it. Every rank
    gets the same result."""
    if world_size() <= 1:
        return tensor, 0
    rank, world = dist.get_rank(), world_size()
    sizes = torch.zeros(world, dtype=torch.float64, device=tensor.device)
    sizes[rank] = tensor.numel()
    sizes = all_sum(sizes).long().tolist()
    rows = tensor.new_zeros(world, max(max(sizes), 1))
    rows[rank, :tensor.numel()] = tensor.detach()
    rows = all_sum(rows)
    full = torch.cat([rows[r, :sizes[r]] for r in range(world)])
    return full, int(sum(sizes[:rank]))
