"""Dataset helpers: class names of the synthetic shapes set."""
from .shapes import SHAPES_CLASSES, SHAPES_PALETTE

__all__ = ['SHAPES_CLASSES', 'SHAPES_PALETTE']
