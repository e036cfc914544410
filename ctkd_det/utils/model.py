"""The model inside the runner's wrapper."""
import torch.nn as nn
from mmengine.model import is_model_wrapper

__all__ = ['unwrap_model']


def unwrap_model(model: nn.Module) -> nn.Module:
    """``model.module`` for a registered model wrapper (DDP, FSDP, ...), else
    ``model`` itself: where hooks find the detector's own attributes."""
    return model.module if is_model_wrapper(model) else model
