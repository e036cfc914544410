"""The synthetic 'shapes' detection set: generator, class names and mmdet dataset.

Coloured circles, squares, triangles and crosses on noisy backgrounds, COCO-format:
small, deterministic and CPU-fast, so detectors (and distillation) train and evaluate
end to end in minutes without downloading anything. Class names and palette are
defined here once; :class:`ShapesDataset` carries them as its ``METAINFO`` so the
configs need no class list. COCO category ids are ``index + 1``.

``make_shapes(out_dir, num_train, num_val, size, seed)`` writes
``OUT/{train,val}/NNNNNN.png``, ``OUT/annotations/{train,val}.json`` and
``OUT/meta.json``; it does nothing when ``meta.json`` already records the same
parameters. Image ``i`` of a split depends only on ``(seed, split, i)``. The
files are written as for the glyphs set (:mod:`ctkd_det.datasets.coco_writer`).
"""
import cv2
import numpy as np

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .coco_writer import make_coco_set

SHAPES_CLASSES = ('circle', 'square', 'triangle', 'cross')
# One colour per class for mmdet's visualizer (RGB).
SHAPES_PALETTE = [(220, 20, 60), (0, 128, 255), (0, 200, 0), (255, 165, 0)]


@DATASETS.register_module()
class ShapesDataset(CocoDataset):
    """The generated shapes set read as COCO, with its classes and palette."""

    METAINFO = dict(classes=SHAPES_CLASSES, palette=SHAPES_PALETTE)


# Bump when the drawing changes, so existing sets with the same CLI args regenerate.
GENERATOR_VERSION = 2
SPLITS = ('train', 'val')
MIN_VISIBLE = 0.6  # an object keeps at least this fraction of its pixels visible


def _background(rng, size):
    """Random base colour with a mild smooth variation, a few thin distractor
    strokes (float32 HxWx3); pixel noise is added after the shapes are drawn."""
    base = rng.uniform(30, 225, 3).astype(np.float32)
    coarse = rng.uniform(-35, 35, (3, 3, 3)).astype(np.float32)
    img = base + cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(0, 4))):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        col = tuple(float(v) for v in rng.uniform(0, 255, 3))
        cv2.line(img, p1, p2, col, 1, cv2.LINE_AA)
    return img


def _rotate(pts, angle, center):
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, -s], [s, c]], np.float64)
    return (pts @ rot.T) + center


def _shape_mask(rng, cls_name, size, obj):
    """Anti-aliased uint8 mask of one shape of diameter ``obj`` at a random spot."""
    r = obj / 2.0
    center = rng.uniform(r + 1, size - r - 1, 2)
    mask = np.zeros((size, size), np.uint8)
    shift = 4  # sub-pixel precision for cv2 drawing
    if cls_name == 'circle':
        cv2.circle(mask, tuple(int(v) for v in np.round(center * 16)),
                   int(round(r * 16)), 255, -1, cv2.LINE_AA, shift)
        return mask
    if cls_name == 'square':
        h = r / np.sqrt(2)  # inscribed in the circle of radius r at any angle
        pts = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
        angle = rng.uniform(-np.pi / 9, np.pi / 9)
        polys = [_rotate(pts * rng.uniform(0.9, 1.0), angle, center)]
    elif cls_name == 'triangle':
        base = rng.uniform(0, 2 * np.pi)
        ang = base + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.2, 0.2, 3)
        pts = np.stack([np.cos(ang), np.sin(ang)], 1) * r
        polys = [pts + center]
    elif cls_name == 'cross':
        t = r * rng.uniform(0.22, 0.35)  # half bar thickness
        bar = np.array([[-r, -t], [r, -t], [r, t], [-r, t]]) * 0.98
        angle = rng.uniform(-np.pi / 9, np.pi / 9)
        polys = [_rotate(bar, angle, center),
                 _rotate(bar[:, ::-1], angle, center)]
    else:
        raise ValueError(f'unknown shape {cls_name!r}')
    for poly in polys:  # one call per polygon: fillPoly is even-odd across polygons
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255,
                     cv2.LINE_AA, shift)
    return mask


def _colour(rng, bg_mean):
    """A random colour that stands out from the local background."""
    for _ in range(20):
        col = rng.uniform(0, 255, 3)
        if np.abs(col - bg_mean).sum() > 150:
            break
    return col.astype(np.float32)


def _make_image(rng, size):
    """One image (uint8 BGR) and its objects as (class index, visible bool mask)."""
    img = _background(rng, size)
    objs = []  # (class index, full mask, visible mask)
    for _ in range(int(rng.integers(1, 5))):
        for _try in range(20):
            label = int(rng.integers(len(SHAPES_CLASSES)))
            obj = rng.uniform(0.15, 0.45) * size
            soft = _shape_mask(rng, SHAPES_CLASSES[label], size, obj)
            full = soft >= 128
            if not all((vis & ~full).sum() >= MIN_VISIBLE * f.sum()
                       for _, f, vis in objs):
                continue  # would hide too much of an earlier object
            alpha = (soft.astype(np.float32) / 255.0)[..., None]
            col = _colour(rng, img[full].mean(0))
            img = img * (1 - alpha) + col * alpha
            objs = [(lab, f, vis & ~full) for lab, f, vis in objs]
            objs.append((label, full, full.copy()))
            break
    img += rng.normal(0, 10, img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return img, [(lab, vis) for lab, _, vis in objs]


def _draw(rng, size):
    """One image and its objects as ``(label, box, area)``: the inclusive pixel
    box and the pixel count of each object's visible part."""
    img, objs = _make_image(rng, size)
    boxes = []
    for label, vis in objs:
        ys, xs = np.nonzero(vis)
        box = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
        boxes.append((label, box, int(vis.sum())))
    return img, boxes


def make_shapes(out_dir, num_train=128, num_val=64, size=160, seed=0):
    """Write the set under ``out_dir`` unless ``meta.json`` shows it is there already.

    Returns a dict with the parameters and ``generated`` (False when skipped).
    """
    params = dict(num_train=int(num_train), num_val=int(num_val), size=int(size),
                  seed=int(seed), version=GENERATOR_VERSION,
                  classes=list(SHAPES_CLASSES))
    categories = [dict(id=k + 1, name=n, supercategory='shape')
                  for k, n in enumerate(SHAPES_CLASSES)]
    return make_coco_set(out_dir, params,
                         dict(zip(SPLITS, (num_train, num_val))), _draw,
                         categories, 'shapes')
