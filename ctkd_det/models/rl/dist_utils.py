"""Keeping the RL agent identical on every rank (no-ops in a single process).

The agent is not part of the DDP-wrapped detector (its parameters are outside
``model.parameters()``), so DDP does not synchronise it. Every rank collects its own
transitions; each update step averages the gradients over the ranks (data-parallel
PPO: every rank's transitions count) and every rank applies the same step; after an
update the weights are also broadcast from rank 0, so floating-point drift can never
accumulate. All helpers are collective: every rank must call them the same number
of times, in the same order.
"""
from typing import Iterable, List, Optional

import torch
import torch.nn as nn
from mmengine import dist


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
