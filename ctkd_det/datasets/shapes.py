"""Class names of the synthetic 'shapes' detection set (tools/make_shapes.py).

Kept here so the generator, the configs and the tests share one definition.
COCO category ids are ``index + 1``.
"""

SHAPES_CLASSES = ('circle', 'square', 'triangle', 'cross')

# One colour per class for mmdet's visualizer (RGB).
SHAPES_PALETTE = [(220, 20, 60), (0, 128, 255), (0, 200, 0), (255, 165, 0)]
