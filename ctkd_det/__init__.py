"""ctkd-det: Curriculum Temperature KD for MMDetection. Importing it registers its
modules into mmdet's registries (``custom_imports=dict(imports=['ctkd_det'])``) and
makes mmengine's checkpoint loading work on torch >= 2.6 (still weights_only) and
``ctkd_det::`` config paths resolve (``utils/config_scope.py``)."""
from .version import __version__  # noqa: F401
from .utils import patch_mmengine_checkpoint_loading, register_config_scope

patch_mmengine_checkpoint_loading()
register_config_scope()

from . import datasets, engine, models  # noqa: F401,E402
