from .detectors import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .temperature import *  # noqa: F401,F403
