"""ctkd-det: Curriculum Temperature KD for MMDetection. Importing it registers its
modules into mmdet's registries (``custom_imports=dict(imports=['ctkd_det'])``) and
makes mmengine's checkpoint loading work on torch >= 2.6 (still weights_only)."""
from .version import __version__  # noqa: F401
from .utils import patch_mmengine_checkpoint_loading

patch_mmengine_checkpoint_loading()

from . import datasets, engine, models  # noqa: F401,E402
