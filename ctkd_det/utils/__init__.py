from .checkpoint import (ALLOWED_HISTORY_BUFFER_ATTRS, mmengine_safe_globals,
                         patch_mmengine_checkpoint_loading, restricted_getattr,
                         safe_checkpoint_loading)
from .config_scope import (CONFIG_SCOPE, CONFIGS_DIR, PACKAGE_DIR,
                           register_config_scope)
from .model import unwrap_model

__all__ = [
    'ALLOWED_HISTORY_BUFFER_ATTRS', 'CONFIG_SCOPE', 'CONFIGS_DIR', 'PACKAGE_DIR',
    'register_config_scope', 'mmengine_safe_globals',
    'patch_mmengine_checkpoint_loading', 'restricted_getattr',
    'safe_checkpoint_loading', 'unwrap_model'
]
