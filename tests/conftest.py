import os
import sys

from mmdet.utils import register_all_modules

sys.path.insert(0, os.path.dirname(__file__))  # tests/_tiny.py
register_all_modules(init_default_scope=True)
