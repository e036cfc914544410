"""ctkd_det registers into MMDetection's registries, so mmdet configs and tools see
our modules once ``ctkd_det`` is imported (``custom_imports`` in a config)."""
from mmdet.registry import HOOKS, MODELS

__all__ = ['MODELS', 'HOOKS']
