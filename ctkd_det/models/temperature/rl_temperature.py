"""RLKD: a reinforcement-learned temperature per RoI (Zhang et al. 2024,
"Instance Temperature Knowledge Distillation", arXiv 2407.00115).

A drop-in ``temperature=`` module for :class:`KDTwoStageDetector`: ``forward`` maps
the ``(N, C)`` teacher/student logits of the RoIs the student sampled to ``(N, 1)``
temperatures chosen by a PPO policy. This module only picks temperatures; the
learning side (policy and reward-calibration networks with their optimizers, the
rollout, PPO updates, checkpoint state, DDP sync) is an :class:`RLKDAgent`
(``ctkd_det/models/rl/agent.py``) held as ``.agent``. The module has no parameters
of its own, and the agent is **not** a submodule, like the teacher in
``KDTwoStageDetector``:

* it is absent from ``model.parameters()``: the detector's optim_wrapper never
  sees it and DDP neither wraps nor waits for it (no unused-parameter errors);
* it is absent from ``state_dict()``: ``RLTemperatureHook`` saves its weights
  and its optimizers' states in the checkpoint under ``rl_temperature`` and
  restores them on resume; an exported student has no ``temperature.*`` keys;
* ``_apply`` is forwarded, so ``.to()``/``.cuda()`` move it with the detector.

The agent learns from rewards, never from the KD loss: ``forward`` runs under
``no_grad`` and returns a tensor without graph, so no gradient reaches the agent,
the student's or the teacher's logits through ``T``.

Life cycle (driven by ``RLTemperatureHook``; the hook is required for learning):

1. warm-up: ``acting = False``: ``T = warmup_temperature`` for every RoI;
2. acting: each training forward samples ``T`` per RoI and hands the transitions
   (state, pre-squash action ``u``, ``log N(u; mu, sigma)``, value, and the
   teacher's logits for the exploration focus) to ``agent.record``;
3. the hook closes each iteration (``agent.end_step`` with the RoI targets the
   detector recorded), pays its batch its reward one iteration later
   (``agent.add_batch``) and every ``update_interval`` iterations calls
   ``agent.update``: reward calibration, then PPO on the rollout.

In eval mode the agent's mean action (``u = mu``) is used (not needed by
``KDTwoStageDetector``, which computes no KD loss when predicting).
"""
from typing import Dict, Optional, Sequence

import torch

from ctkd_det.models.rl.agent import RLKDAgent
from ctkd_det.models.rl.features import instance_state
from ctkd_det.registry import MODELS
from .base_temperature import BaseTemperature
from .bounds import check_bounds


@MODELS.register_module()
class RLTemperature(BaseTemperature):
    """Per-RoI temperatures from a PPO agent (RLKD).

    Args:
        t_min, t_max: temperature range; ``T = t_min + (t_max - t_min) *
            sigmoid(u)``. (The paper's ``T_max * sigmoid(u)`` lets ``T`` approach
            0, where ``logits / T`` overflows; ``t_min`` keeps it away.)
        warmup_temperature: the fixed ``T`` before the agent acts.
        init_temperature: the policy's initial mean ``T`` for every state;
            default ``warmup_temperature`` (no jump when the agent takes over).
        hidden_dims: actor and critic hidden widths (256, 256 as the paper).
        log_std_init: initial ``log sigma`` of the pre-squash Gaussian.
        ppo: further :class:`PPOAgent` arguments (gamma, gae_lambda, clip_ratio,
            ppo_epochs, num_minibatches, value_coef, entropy_coef, max_grad_norm,
            optimizer, log_std_bounds).
        decomposition: :class:`RewardDecomposition` arguments (hidden_dims,
            buffer_size, steps, max_grad_norm, optimizer).
        exploration: the focus on high-quality RoIs early on:
            ``start_fraction`` (share of the rollout's highest-quality
            transitions that enter the first PPO update), ``updates`` (number of
            updates over which the share grows linearly to 1; 0 disables the
            focus), ``background_weight`` (see ``instance_quality``).
        max_instances_per_step: keep at most this many (random) transitions per
            iteration for learning (``None``: all); every RoI still gets a sampled T.
    """

    def __init__(self,
                 t_min: float = 1.0,
                 t_max: float = 21.0,
                 warmup_temperature: float = 4.0,
                 init_temperature: Optional[float] = None,
                 hidden_dims: Sequence[int] = (256, 256),
                 log_std_init: float = -0.5,
                 ppo: Optional[dict] = None,
                 decomposition: Optional[dict] = None,
                 exploration: Optional[dict] = None,
                 max_instances_per_step: Optional[int] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        t_min, t_max = check_bounds(t_min, t_max, 'RLTemperature')
        if not (t_min <= warmup_temperature <= t_max):
            raise ValueError(
                f'RLTemperature: warmup_temperature={warmup_temperature} outside '
                f'[{t_min}, {t_max}]')
        if init_temperature is None:
            init_temperature = min(max(float(warmup_temperature), t_min + 1e-3 *
                                       (t_max - t_min)), t_max - 1e-3 * (t_max - t_min))
        self.t_min, self.t_max = t_min, t_max
        self.warmup_temperature = float(warmup_temperature)
        agent = RLKDAgent(t_min=t_min, t_max=t_max,
                          init_temperature=float(init_temperature),
                          hidden_dims=hidden_dims, log_std_init=log_std_init,
                          ppo=ppo, decomposition=decomposition,
                          exploration=exploration,
                          max_instances_per_step=max_instances_per_step)
        # Not a submodule: see the module docstring.
        object.__setattr__(self, 'agent', agent)
        self.acting = False          # set by RLTemperatureHook

    # -- module plumbing -------------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        """``.to()``, ``.cuda()`` … reach the unregistered agent networks."""
        self.agent._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def agent_modules(self) -> Dict[str, torch.nn.Module]:
        """The networks kept outside the module tree (policy, reward model)."""
        return dict(agent=self.agent.ppo, decomposer=self.agent.decomposer)

    def extra_repr(self) -> str:
        return (f't_min={self.t_min}, t_max={self.t_max}, warmup_temperature='
                f'{self.warmup_temperature}, acting={self.acting}')

    # -- acting ----------------------------------------------------------------
    def compute(self, teacher_logits: torch.Tensor,
                student_logits: torch.Tensor) -> torch.Tensor:
        n = student_logits.size(0)
        if not self.acting:
            return student_logits.new_full((n, 1), self.warmup_temperature)
        device = student_logits.device
        with torch.no_grad():  # float32, autocast off: BaseTemperature.forward
            states = instance_state(teacher_logits, student_logits)
            out = self.agent.act(states, deterministic=not self.training)
            temperature = out['temperature'].clamp(self.t_min, self.t_max)
            if self.training:
                self.agent.record(states, out, teacher_logits)
        return temperature.to(device=device,
                              dtype=student_logits.dtype).reshape(n, 1)
