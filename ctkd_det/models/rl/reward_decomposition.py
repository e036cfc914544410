"""Instance reward calibration by return decomposition.

The environment pays one reward per *batch* (the change of the student's accuracy,
see ``RLTemperatureHook``), but the agent acts per *instance* (per RoI). The paper
calibrates instance rewards with a learned return-decomposition model; its code
uses a RUDDER-style LSTM over the batch's instances. We use the set form, which
fits instances that have no order (the RoIs of a batch are a set):

* a small MLP ``g(s_i, a_i)`` scores each instance's contribution, trained on a FIFO
  of past batches so that the contributions add up to the batch's return:
  ``min  sum_b (sum_{i in b} g(s_i, a_i) - R_b)^2``;
* redistribution: ``r_i = g_i + (R_b - sum_j g_j) / N_b``. The residual is shared
  equally, so the instance rewards of a batch sum to ``R_b`` **exactly**, by
  construction, whatever the model's quality (an untrained model, ``g = 0``, gives
  the uniform ``R_b / N_b``). Unlike normalised non-negative shares
  (``R_b * w_i``), the additive form can reward one instance and penalise another
  of the same batch.

The action enters as ``sigmoid(u)`` (the temperature's position in
``[t_min, t_max]``), a bounded feature. The model has its own optimizer; like the
actor-critic it is outside the detector's parameters and synchronised over ranks by
gradient all-reduce + broadcast. The FIFO is not checkpointed (it refills within
``buffer_size`` batches after a resume); weights and optimizer state are.
"""
from collections import deque
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.registry import OPTIMIZERS

from ctkd_det.utils.dist import broadcast_module, synced_step, world_size
from .ppo import _mlp, _to_cpu


class RewardDecomposition(nn.Module):
    """Learned batch-return -> instance-reward redistribution.

    Args:
        state_dim: state features per instance.
        hidden_dims: hidden widths of the contribution MLP.
        buffer_size: batches kept for fitting (FIFO).
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
        self.buffer = deque(maxlen=int(buffer_size))

    @staticmethod
    def _inputs(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return torch.cat([states.float(), torch.sigmoid(actions.float())[:, None]],
                         dim=1)

    def contributions(self, states: torch.Tensor,
                      actions: torch.Tensor) -> torch.Tensor:
        """``g(s_i, a_i)`` ``(N,)`` (with gradient)."""
        return self.net(self._inputs(states, actions))[:, 0]

    def add(self, states: torch.Tensor, actions: torch.Tensor,
            batch_return: float) -> None:
        """Remember one batch (detached) for fitting."""
        self.buffer.append((self._inputs(states, actions).detach(),
                            float(batch_return)))

    def fit(self) -> float:
        """``steps`` optimizer steps on the whole FIFO; returns the last loss
        (mean squared error of the predicted batch returns). Collective under DDP."""
        params = list(self.net.parameters())
        last = 0.0
        for _ in range(self.steps):
            if not self.buffer and world_size() <= 1:
                break
            self.optimizer.zero_grad(set_to_none=False)
            if self.buffer:
                errs = [self.net(x)[:, 0].sum() - r for x, r in self.buffer]
                loss = torch.stack(errs).pow(2).mean()
                last = float(loss.detach())
            else:
                loss = None  # no data on this rank: join with a zero gradient
            synced_step(self.optimizer, params, loss, self.max_grad_norm)
        broadcast_module(self.net)
        return last

    @torch.no_grad()
    def redistribute(self, states: torch.Tensor, actions: torch.Tensor,
                     batch_return: float) -> torch.Tensor:
        """Instance rewards ``(N,)`` of one batch; they sum to ``batch_return``
        (up to float32 rounding of the returned tensor)."""
        n = states.size(0)
        if n == 0:
            return states.new_zeros(0)
        g = self.contributions(states, actions).double()
        r = g + (float(batch_return) - g.sum()) / n
        return r.float()

    def checkpoint_state(self) -> dict:
        return dict(
            net={k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            optimizer=_to_cpu(self.optimizer.state_dict()))

    def load_checkpoint_state(self, state: dict) -> None:
        self.net.load_state_dict(state['net'])
        self.optimizer.load_state_dict(state['optimizer'])
