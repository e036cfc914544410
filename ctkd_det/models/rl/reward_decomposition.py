"""Instance reward calibration by return decomposition.

The environment pays one reward per *batch* (the change of the student's accuracy,
see ``RLTemperatureHook``), but the agent acts per *instance* (per RoI). The paper
calibrates instance rewards with a learned return-decomposition model; its code
uses a RUDDER-style LSTM over the batch's instances. We use the set form, which
fits instances that have no order (the RoIs of a batch are a set):

* a small MLP ``g(s_i, a_i)`` scores each instance's contribution, trained so that
  the contributions add up to the batch's return:
  ``min  mean_b (sum_{i in b} g(s_i, a_i) - R_b)^2``, over the batches to be
  redistributed **and** up to ``buffer_size`` earlier ones (a FIFO): the model
  has always been fitted on every batch it redistributes;
* redistribution: ``r_i = g_i + (R_b - sum_j g_j) / N_b``. The residual is shared
  equally, so the instance rewards of a batch sum to ``R_b`` **exactly**, by
  construction, whatever the model's quality (an untrained model, ``g = 0``, gives
  the uniform ``R_b / N_b``). Unlike normalised non-negative shares
  (``R_b * w_i``), the additive form can reward one instance and penalise another
  of the same batch.

The action enters as ``sigmoid(u)`` (the temperature's position in
``[t_min, t_max]``), a bounded feature. The model has its own optimizer; like the
actor-critic it is outside the detector's parameters.

Under DDP a batch is the *global* batch: every rank holds its own RoIs of it and
the same return ``R_b``. The sums ``sum_j g_j`` and ``N_b`` are over all ranks
(:func:`all_sum`), and each rank's gradient is its part of the gradient of the
global loss, so the averaged step is the one a single process would take on the
union. This needs the ranks' FIFOs to be aligned (entry ``k`` of every rank is
part of the same global batch), which holds because every rank calls
:meth:`fit` with the same number of batches at the same iterations.
"""
from collections import deque
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.registry import OPTIMIZERS

from ctkd_det.utils.dist import all_sum, broadcast_module, synced_step, world_size
from .ppo import _mlp, _to_cpu

Batch = Tuple[torch.Tensor, torch.Tensor, float]  # states, actions, return


class RewardDecomposition(nn.Module):
    """Learned batch-return -> instance-reward redistribution.

    Args:
        state_dim: state features per instance.
        hidden_dims: hidden widths of the contribution MLP.
        buffer_size: batches a fit sees: the newest ``buffer_size`` of the
            earlier batches and the ones being fitted, but never fewer than the
            latter (a rollout longer than the FIFO is still fitted whole).
        steps: optimizer steps per :meth:`fit`.
        max_grad_norm: gradient clipping per step (``None``: off).
        optimizer: optimizer config (mmengine ``OPTIMIZERS``).
    """

    def __init__(self, state_dim: int = 3, hidden_dims: Sequence[int] = (64, 64),
                 buffer_size: int = 32, steps: int = 10,
                 max_grad_norm: Optional[float] = 1.0,
                 optimizer: dict = dict(type='Adam', lr=1e-3)):
        super().__init__()
        if int(buffer_size) < 1 or int(steps) < 0:
            raise ValueError('RewardDecomposition: buffer_size >= 1, steps >= 0')
        self.net = _mlp(state_dim + 1, hidden_dims, 1)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.optimizer = OPTIMIZERS.build(
            dict(optimizer, params=self.net.parameters()))
        self.steps = int(steps)
        self.max_grad_norm = max_grad_norm
        self.buffer = deque(maxlen=int(buffer_size))  # (inputs (N, d + 1), R)

    @staticmethod
    def _inputs(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.cat([states.float(), torch.sigmoid(actions.float())[:, None]],
                         dim=1)

    def contributions(self, states: torch.Tensor,
                      actions: torch.Tensor) -> torch.Tensor:
        """``g(s_i, a_i)`` ``(N,)`` (with gradient)."""
        return self.net(self._inputs(states, actions).to(
            self.net[0].weight.dtype))[:, 0]

    def fit(self, batches: Sequence[Batch] = ()) -> float:
        """``steps`` optimizer steps on ``batches`` (``(states, actions,
        batch_return)`` each) and the FIFO's earlier batches (together at most
        ``max(buffer_size, len(batches))``, the newest), then add ``batches`` to
        the FIFO. Returns the loss (mean squared error of the predicted global
        batch returns) before the last step. Collective under DDP."""
        new = [(self._inputs(s, a).detach(), float(r)) for s, a, r in batches]
        data = list(self.buffer) + new
        data = data[max(0, len(data) - max(self.buffer.maxlen, len(new))):]
        self.buffer.extend(new)
        if not data:
            return 0.0
        params = list(self.net.parameters())
        dtype = params[0].dtype
        x = torch.cat([d[0] for d in data]).to(dtype)
        index = torch.repeat_interleave(
            torch.arange(len(data), device=x.device),
            torch.tensor([d[0].size(0) for d in data], device=x.device))
        target = torch.tensor([d[1] for d in data], dtype=torch.float64)
        world, last = world_size(), 0.0
        for _ in range(self.steps):
            self.optimizer.zero_grad(set_to_none=False)
            g = self.net(x)[:, 0]
            local = g.new_zeros(len(data)).index_add(0, index, g)  # (B,)
            err = all_sum(local.detach().double().cpu()) - target
            last = float(err.pow(2).mean())
            # this rank's part of d/dtheta mean_b (S_b - R_b)^2, S_b = sum over
            # every rank's RoIs; times world: synced_step averages the ranks
            surrogate = (2.0 * world / len(data)) * (
                err.to(local) * local).sum()
            synced_step(self.optimizer, params, surrogate, self.max_grad_norm)
        broadcast_module(self.net)
        return last

    @torch.no_grad()
    def redistribute(self, batches: Sequence[Batch]) -> List[torch.Tensor]:
        """Instance rewards ``(N_b,)`` of each ``(states, actions, return)``
        batch; over the global batch (every rank's part) they sum to its return
        (up to float32 rounding of the returned tensors). Collective."""
        gs = [self.contributions(s, a).double() if s.size(0) else
              s.new_zeros(0, dtype=torch.float64) for s, a, _ in batches]
        sums = torch.tensor([[float(g.sum()), float(g.numel())] for g in gs],
                            dtype=torch.float64).reshape(-1, 2)
        sums = all_sum(sums)
        out = []
        for (s, _, ret), g, (total, n) in zip(batches, gs, sums.tolist()):
            r = g + (float(ret) - total) / n if n > 0 else g
            out.append(r.float().to(s.device))
        return out

    # -- checkpointing ---------------------------------------------------------
    def checkpoint_state(self) -> dict:
        return dict(
            net={k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            optimizer=_to_cpu(self.optimizer.state_dict()))

    def load_checkpoint_state(self, state: dict) -> None:
        self.net.load_state_dict(state['net'])
        self.optimizer.load_state_dict(state['optimizer'])

    def buffer_state(self) -> list:
        """This rank's FIFO (CPU tensors), for an exact resume."""
        return [dict(inputs=x.detach().cpu(), batch_return=float(r))
                for x, r in self.buffer]

    def load_buffer_state(self, entries: list) -> None:
        device = next(self.net.parameters()).device
        self.buffer.clear()
        self.buffer.extend((e['inputs'].to(device), float(e['batch_return']))
                           for e in entries)
