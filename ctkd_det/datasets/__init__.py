"""Generated benchmark sets: generators, class definitions and mmdet datasets."""
from .glyphs import (GLYPH_FAMILIES, GLYPHS_CLASSES, GLYPHS_PALETTE,
                     GlyphsDataset, make_glyphs)
from .shapes import SHAPES_CLASSES, SHAPES_PALETTE, ShapesDataset, make_shapes

__all__ = [
    'SHAPES_CLASSES', 'SHAPES_PALETTE', 'ShapesDataset', 'make_shapes',
    'GLYPH_FAMILIES', 'GLYPHS_CLASSES', 'GLYPHS_PALETTE', 'GlyphsDataset',
    'make_glyphs'
]
