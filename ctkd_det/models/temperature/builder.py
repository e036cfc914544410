"""Building a temperature module from its config, with clear errors."""
from typing import List

from mmdet.utils import ConfigType

from ctkd_det.registry import MODELS
from .base_temperature import BaseTemperature


def temperature_types() -> List[str]:
    """Names of the registered temperature modules (``BaseTemperature``
    subclasses), sorted."""
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, BaseTemperature))


def build_temperature(cfg: ConfigType) -> BaseTemperature:
    """Build a temperature module, with a clear error for unknown types."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError('`temperature` must be a config dict with a `type`, one '
                        f'of {temperature_types()}; got {cfg!r}')
    if cfg['type'] not in temperature_types():
        raise KeyError(f"unknown temperature type {cfg['type']!r}; registered "
                       f'temperature modules: {temperature_types()}')
    return MODELS.build(cfg)
