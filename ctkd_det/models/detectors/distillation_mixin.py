"""What every logit-distillation detector shares, whatever the student: the
frozen teacher's bookkeeping and the KD term with its temperature logs."""
from typing import Optional

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from torch import Tensor

from mmdet.utils import ConfigType

from ctkd_det.models.temperature import build_temperature
from ctkd_det.registry import MODELS
from .teacher import build_teacher, teacher_input_converter
from .teacher_cache import TeacherFeatureCache

__all__ = ['DistillationMixin']


class DistillationMixin:
    """Mixed into an mmdet detector (``class D(DistillationMixin, Detector)``).

    * :meth:`init_distillation` builds the KD loss (``distill_loss``), the
      teacher (with :func:`build_teacher`, refused by the detector's own
      :meth:`check_teacher`) and the temperature module (``temperature``);
    * the teacher is not a submodule: absent from ``state_dict``,
      ``parameters()`` and ``init_weights``, it follows ``.to()`` / ``.cuda()``
      / ``.half()`` (:meth:`_apply`) and stays in eval mode while the student
      trains (:meth:`train`, with ``eval_teacher``);
    * :meth:`teacher_features`: the teacher's backbone + neck features of the
      student's inputs, memoised per image with ``teacher_cache_mb`` > 0
      (:class:`TeacherFeatureCache`: for pipelines that give an image the
      same input every epoch; a changed input is a miss, not a wrong hit);
    * :meth:`kd_losses` gives ``loss_kd`` on ``(R, C)`` student / teacher logit
      rows, with the temperatures it used logged as ``kd_temp`` (mean),
      ``kd_temp_p10`` / ``kd_temp_p90``; non-finite logits skip the term
      (:meth:`zero_kd`, float32 like every KD term).
    """

    # -- building -------------------------------------------------------------
    def init_distillation(self, teacher_model_cfg: ConfigType,
                          teacher_ckpt: Optional[str], temperature: ConfigType,
                          distill_loss: ConfigType,
                          eval_teacher: bool = True,
                          teacher_cache_mb: float = 0) -> None:
        """Build the KD loss (checked by :meth:`check_distill_loss` before
        anything heavy), the teacher and the temperature module (checked by
        :meth:`check_temperature`), and the teacher feature cache
        (``teacher_cache_mb`` > 0). Call after the student is built."""
        if teacher_cache_mb and not eval_teacher:
            raise ValueError(
                'teacher_cache_mb needs eval_teacher=True: a teacher in train '
                'mode (batch statistics) has batch-dependent features')
        if teacher_cache_mb < 0:
            raise ValueError(f'teacher_cache_mb must be >= 0 (0: no cache), '
                             f'got {teacher_cache_mb}')
        loss = MODELS.build(distill_loss)
        self.check_distill_loss(loss)
        # Building the teacher and the temperature module must not consume the
        # global RNG: the student then starts from the same weights as a plain
        # student with the same seed (paired comparisons across methods).
        with torch.random.fork_rng(devices=[]):
            teacher = build_teacher(teacher_model_cfg, teacher_ckpt,
                                    check=self.check_teacher)
            temperature = build_temperature(temperature)
        self.check_temperature(temperature)
        # Not registered as a submodule: see the class docstring.
        object.__setattr__(self, 'teacher', teacher)
        self.eval_teacher = eval_teacher
        self._teacher_input = teacher_input_converter(
            self.data_preprocessor, teacher.data_preprocessor)
        self.temperature = temperature
        self.distill_loss = loss
        self.kd_skipped_steps = 0
        self.teacher_cache = TeacherFeatureCache(teacher_cache_mb) \
            if teacher_cache_mb else None

    def check_teacher(self, teacher: nn.Module) -> None:
        """Raise ``ValueError`` if ``teacher`` cannot be distilled into this
        student (called by ``build_teacher`` before its weights are loaded)."""
        raise NotImplementedError(
            f'{type(self).__name__} must define check_teacher(teacher)')

    def check_distill_loss(self, loss: nn.Module) -> None:
        """Raise ``ValueError`` if the built KD loss does not fit the student
        (default: any loss)."""

    def check_temperature(self, temperature: nn.Module) -> None:
        """Raise ``ValueError`` if the built temperature module does not fit
        the student (default: any module)."""

    # -- teacher bookkeeping --------------------------------------------------
    def _apply(self, fn, *args, **kwargs):
        """``.to()``, ``.cuda()``, ``.half()`` … reach the unregistered teacher."""
        self.teacher._apply(fn, *args, **kwargs)
        if getattr(self, 'teacher_cache', None) is not None:
            self.teacher_cache.clear()  # features of the old device / dtype
        return super()._apply(fn, *args, **kwargs)

    @torch.no_grad()
    def teacher_features(self, batch_inputs: Tensor):
        """The teacher's backbone + neck features (one ``(B, C, H_l, W_l)``
        tensor per level) of the student's normalised inputs ``(B, 3, H, W)``,
        converted to the teacher's normalisation; through the teacher feature
        cache when there is one."""
        def compute(inputs: Tensor):
            if self._teacher_input is not None:
                inputs = self._teacher_input(inputs)
            return self.teacher.extract_feat(inputs)

        if self.teacher_cache is None:
            return compute(batch_inputs)
        return self.teacher_cache(batch_inputs, compute)

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.train(False if self.eval_teacher else mode)
        return self

    # -- the KD term ----------------------------------------------------------
    def zero_kd(self, ref: Tensor) -> dict:
        """A zero KD term and zero temperature logs (float32 scalars on
        ``ref``'s device, whatever ``ref``'s dtype: under autocast the logits
        may be bf16 / fp16, the KD term never is) for a step without one. The
        term keeps the temperature parameters in the graph (zero gradient):
        under DDP a rank that skips must still join the gradient all-reduce."""
        zero = ref.new_zeros((), dtype=torch.float32)
        loss = zero + sum((0. * p.float().sum() for p in
                           self.temperature.parameters()), zero)
        return dict(loss_kd=loss, kd_temp=zero, kd_temp_p10=zero,
                    kd_temp_p90=zero)

    def kd_losses(self, student_logits: Tensor, teacher_logits: Tensor,
                  labels: Optional[Tensor] = None) -> dict:
        """``loss_kd`` on logit rows ``(R, C)`` plus the temperatures used
        (logged, not optimised). ``labels`` ``(R,)``: the rows' classes for the
        losses that split rows by them (``DKDLoss``, fg/bg-weighted
        ``KDLoss``); ``None`` where the student has none per row."""
        if not (torch.isfinite(student_logits).all()
                and torch.isfinite(teacher_logits).all()):
            # Skip rather than poison the weights; count and warn.
            self.kd_skipped_steps += 1
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: non-finite logits, KD term skipped '
                f'({self.kd_skipped_steps} step(s) so far)')
            return self.zero_kd(student_logits)
        temp = self.temperature(teacher_logits, student_logits)
        loss = self.distill_loss(student_logits, teacher_logits, temp,
                                 labels=labels)
        t = temp.detach().flatten().float()
        if t.numel() == 0:
            t = t.new_zeros(1)
        q = torch.quantile(t, t.new_tensor([0.1, 0.9]))
        return dict(loss_kd=loss, kd_temp=t.mean(), kd_temp_p10=q[0],
                    kd_temp_p90=q[1])
