"""ctkd-det: Curriculum Temperature KD for MMDetection. Importing it registers its
modules into mmdet's registries (``custom_imports=dict(imports=['ctkd_det'])``)."""
from .version import __version__  # noqa: F401
from . import engine, models  # noqa: F401,E402
