"""Dataset helpers: class names of the synthetic shapes set."""
from .shapes import SHAPES_CLASSES, SHAPES_PALETTE
from .glyphs import GLYPHS_CLASSES, GLYPHS_PALETTE, GlyphsDataset  # noqa: F401

__all__ = ['SHAPES_CLASSES', 'SHAPES_PALETTE']
