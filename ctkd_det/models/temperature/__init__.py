from .base_temperature import BaseTemperature, LearnableTemperature
from .builder import build_temperature, temperature_types
from .fixed_temperature import FixedTemperature
from .global_temperature import GlobalTemperature
from .gradient_reversal import GradientReversal, grad_reverse
from .instance_temperature import InstanceTemperature
from .rl_temperature import RLTemperature

__all__ = [
    'BaseTemperature', 'LearnableTemperature', 'GradientReversal',
    'grad_reverse', 'GlobalTemperature', 'InstanceTemperature',
    'FixedTemperature', 'RLTemperature', 'build_temperature', 'temperature_types'
]
