"""CTKD's curriculum: the gradient-reversal scale λ grows with a cosine schedule."""
import math
from typing import Optional

from mmengine.hooks import Hook

from ctkd_det.registry import HOOKS
from ctkd_det.utils import unwrap_model


def cosine_lambda(step: int, lambda_min: float, lambda_max: float,
                  loops: int) -> float:
    """``λ_min + (λ_max - λ_min) · (1 - cos(π · min(step, loops) / loops)) / 2``."""
    progress = min(max(step, 0), loops) / loops
    return lambda_min + (lambda_max - lambda_min) * (
        1. - math.cos(math.pi * progress)) / 2.


@HOOKS.register_module()
class CurriculumTemperatureHook(Hook):
    """Sets ``model.temperature.lambda_`` from the schedule before every train iteration.

    Easy → hard: λ rises from ``lambda_min`` to ``lambda_max`` over the first
    ``loops`` epochs (``by_epoch=True``) or iterations, then stays at ``lambda_max``.
    The defaults (0 → 1 over 10 epochs) are the CTKD authors'. λ is a function of the
    runner's epoch/iter, so a resumed run continues the curriculum where it stopped.
    λ is logged as ``train/lambda`` (message hub → text log and JSON scalars); the
    detector logs the temperatures it used (``kd_temp``: their mean over the RoIs,
    ``kd_temp_p10`` / ``kd_temp_p90``: their 10th / 90th percentiles).

    Args:
        lambda_min, lambda_max: range of λ, ``0 <= lambda_min <= lambda_max``.
        loops: length of the ramp, in epochs or iterations, > 0.
        by_epoch: step the schedule per epoch (True) or per iteration.
        module_name: attribute of the (unwrapped) model holding the temperature.
    """

    priority = 'NORMAL'

    def __init__(self, lambda_min: float = 0.0, lambda_max: float = 1.0,
                 loops: int = 10, by_epoch: bool = True,
                 module_name: str = 'temperature'):
        if not (0 <= lambda_min <= lambda_max) or not math.isfinite(lambda_max):
            raise ValueError(
                'CurriculumTemperatureHook: need 0 <= lambda_min <= lambda_max '
                f'(finite), got lambda_min={lambda_min}, lambda_max={lambda_max}')
        if not isinstance(loops, int) or loops <= 0:
            raise ValueError(
                f'CurriculumTemperatureHook: loops must be an int > 0, got {loops!r}')
        self.lambda_min = float(lambda_min)
        self.lambda_max = float(lambda_max)
        self.loops = loops
        self.by_epoch = by_epoch
        self.module_name = module_name

    def _temperature(self, runner):
        model = unwrap_model(runner.model)
        module = getattr(model, self.module_name, None)
        if module is None or not hasattr(module, 'lambda_'):
            raise RuntimeError(
                f'CurriculumTemperatureHook: the model ({type(model).__name__}) '
                f'has no temperature module at .{self.module_name}')
        return module

    def before_run(self, runner) -> None:
        self._temperature(runner)  # fail before training, not at the first epoch

    def lambda_at(self, step: int) -> float:
        return cosine_lambda(step, self.lambda_min, self.lambda_max, self.loops)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: Optional[dict] = None) -> None:
        step = runner.epoch if self.by_epoch else runner.iter
        value = self.lambda_at(step)
        self._temperature(runner).lambda_ = value
        runner.message_hub.update_scalar('train/lambda', value)
