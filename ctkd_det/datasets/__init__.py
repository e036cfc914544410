"""Generated benchmark sets: generators, class definitions and mmdet datasets."""
from .shapes import SHAPES_CLASSES, SHAPES_PALETTE, ShapesDataset, make_shapes

__all__ = ['SHAPES_CLASSES', 'SHAPES_PALETTE', 'ShapesDataset', 'make_shapes']
