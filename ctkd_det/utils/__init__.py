from .checkpoint import (ALLOWED_HISTORY_BUFFER_ATTRS, mmengine_safe_globals,
                         patch_mmengine_checkpoint_loading, restricted_getattr,
                         safe_checkpoint_loading)
from .model import unwrap_model

__all__ = [
    'ALLOWED_HISTORY_BUFFER_ATTRS', 'mmengine_safe_globals',
    'patch_mmengine_checkpoint_loading', 'restricted_getattr',
    'safe_checkpoint_loading', 'unwrap_model'
]
