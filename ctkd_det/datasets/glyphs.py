"""Synthetic 'glyphs' detection set: families of look-alike characters in clutter.

The shapes set (4 classes that differ in colour and outline) makes classification
almost free, so RoI-logit distillation, which transfers how classes resemble each
other, has nothing to transfer. Here the classes are characters grouped in
families of look-alikes (``GLYPH_FAMILIES``: O/0/Q/D/C/G, I/1/l/T/7, ...), drawn
with Pillow's bundled scalable font (``ImageFont.load_default(size)``, Aileron
Regular in Pillow >= 10.1), so that a large, sharp glyph is unambiguous but a
small, blurred, rotated one is easily taken for a family sibling: the teacher's
soft labels then carry real "dark knowledge" (which wrong classes are plausible).

Each image (``size`` px square, BGR) has:

* a cluttered background: smooth colour gradient, mid-frequency texture, blobs,
  long lines and scribbles;
* 3-8 annotated glyphs (classes drawn uniformly): stroke weight (thinned or
  emboldened), rotation (+-15 deg), shear (+-0.2), aspect (+-8 %), colour
  (solid or a two-colour gradient, contrasting with the local background) and
  defocus blur; ink heights 12-100 px log-uniform, plus in 3 of 4 images one
  105-170 px glyph (at 192 px; ~43 % of boxes are COCO-small < 32^2, ~46 %
  medium, ~11 % large > 96^2); bounded overlap (box IoU <= 0.3, each glyph
  keeps >= 90 % of its ink visible). Thinning and blur never push a small
  glyph's strokes below ~1.3 px / ~0.6 peak coverage: ambiguous, not invisible;
* 0-2 unannotated distractor glyphs (characters that are not classes, drawn the
  same way) and thin lines over everything;
* sometimes a low-resolution (down/up-sampling) or global blur pass, then noise.

Annotations are COCO: ``bbox`` = tight box ``[x, y, w, h]`` (inclusive pixels)
of the glyph's visible ink (coverage >= ``INK_THRESHOLD`` after its blur and
after occlusion), ``area = w * h`` (box area: the COCO small / medium / large
buckets then refer to box size), ``iscrowd = 0``, category ids ``index + 1``.
Glyph classes are not mirror-symmetric (b/d, p/q), so training must not use
horizontal flips (the configs do not).

Image ``i`` of split ``s`` depends only on ``(seed, s, i)``: the splits are
separate random streams, a set is byte-identical for the same arguments (same
Pillow / OpenCV build) and is not regenerated when ``meta.json`` matches (files
written by :mod:`ctkd_det.datasets.coco_writer`, as for the shapes set).
"""
import colorsys
import functools
import json
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .coco_writer import make_coco_set

# Families of look-alike glyphs (family name -> member characters). Classes are
# the members in this order; each character is also its class name.
GLYPH_FAMILIES: Dict[str, Tuple[str, ...]] = {
    'round': ('O', '0', 'Q', 'D', 'C', 'G'),
    'bar': ('I', '1', 'l', 'T', '7'),
    'loop': ('B', '8', '3', 'E'),
    'zigzag': ('S', '5', '2', 'Z'),
    'stem-bowl': ('b', 'd', 'p', 'q', '6', '9'),
    'diagonal': ('V', 'Y', 'X', 'K'),
}
GLYPHS_CLASSES: Tuple[str, ...] = tuple(
    c for members in GLYPH_FAMILIES.values() for c in members)
# family name of each class (same order as GLYPHS_CLASSES)
GLYPHS_CLASS_FAMILY: Tuple[str, ...] = tuple(
    fam for fam, members in GLYPH_FAMILIES.items() for _ in members)


def _family_palette():
    """One hue per family, members differ in saturation/value (RGB 0-255)."""
    out = []
    for k, members in enumerate(GLYPH_FAMILIES.values()):
        for j in range(len(members)):
            r, g, b = colorsys.hsv_to_rgb(k / len(GLYPH_FAMILIES),
                                          1.0 - 0.12 * j, 1.0 - 0.09 * j)
            out.append((round(255 * r), round(255 * g), round(255 * b)))
    return out


GLYPHS_PALETTE: List[Tuple[int, int, int]] = _family_palette()

# Drawn like the classes but never annotated: non-class characters, some of them
# near misses (F ~ E, h ~ b, U ~ O/C) that the detector must learn to reject.
DISTRACTOR_GLYPHS = ('A', 'F', 'H', 'M', 'N', 'W', 'U', 'k', 'h', 'n', '#',
                     '%', '@', '&', '+', '=', '*')

# Bump when the drawing changes, so existing sets with the same args regenerate.
GENERATOR_VERSION = 1
SPLITS = ('train', 'dev', 'val')
REF_SIZE = 192      # pixel ranges below are for this image size; scaled with it
FONT_PX = 160       # glyphs are resampled from templates rendered at this size
INK_THRESHOLD = 0.25  # a pixel is ink where a glyph's coverage is >= this
MAX_HIDDEN = 0.10   # at most this fraction of a glyph's ink may be covered
MAX_BOX_IOU = 0.3   # bound on the overlap of two glyph boxes


# --------------------------------------------------------------------- glyphs
@functools.lru_cache(maxsize=None)
def _font(px: int):
    from PIL import ImageFont
    font = ImageFont.load_default(size=px)
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError('the glyphs set needs Pillow >= 10.1 built with '
                           'FreeType (a scalable default font)')
    return font


def font_name() -> str:
    """Family and style of the font the glyphs are drawn with."""
    return ' '.join(_font(FONT_PX).getname())


@functools.lru_cache(maxsize=None)
def _template(char: str, weight: int):
    """Coverage (float32 0..1, read-only) of ``char`` at ``FONT_PX``, its strokes
    widened (``weight > 0``) or thinned (``< 0``) by ``|weight|`` px per side,
    cropped to the ink plus 2 px; and the ink box ``(x0, y0, x1, y1)`` in it."""
    from PIL import Image, ImageDraw
    font = _font(FONT_PX)
    left, top, right, bottom = font.getbbox(char)
    pad = 4 + abs(weight)
    img = Image.new('L', (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(img).text((pad - left, pad - top), char, font=font,
                             fill=255)
    alpha = np.asarray(img, np.float32) / 255.0
    if weight:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                           (2 * abs(weight) + 1, ) * 2)
        alpha = (cv2.dilate if weight > 0 else cv2.erode)(alpha, kernel)
    ys, xs = np.nonzero(alpha >= INK_THRESHOLD)
    y0, y1 = max(ys.min() - 2, 0), ys.max() + 3
    x0, x1 = max(xs.min() - 2, 0), xs.max() + 3
    alpha = np.ascontiguousarray(alpha[y0:y1, x0:x1])
    alpha.flags.writeable = False
    ink = (float(xs.min() - x0), float(ys.min() - y0), float(xs.max() - x0),
           float(ys.max() - y0))
    return alpha, ink


def sample_style(rng: np.random.Generator, height: float) -> dict:
    """Random appearance of one glyph of ink height ``height`` px (everything
    but class and place). Thinning and blur are bounded so that the stroke
    stays >= 1.3 px wide and its blurred peak coverage >= ~0.6: a small glyph
    may become ambiguous, never invisible."""
    _, (x0, y0, x1, y1) = _template('I', 0)
    unit = height / (y1 - y0 + 1)  # output px per template px
    stem = x1 - x0 + 1  # template stroke width at weight 0
    lo = int(np.clip(np.ceil((1.3 / unit - stem) / 2), -4, 8))
    weight = int(rng.integers(lo, 9))
    stroke = (stem + 2 * weight) * unit  # output px
    max_blur = min(1.2, stroke / 1.7)
    blur = 0.0 if rng.random() < 0.3 or max_blur < 0.3 else float(
        rng.uniform(0.3, max_blur))
    return dict(weight=weight,
                angle=float(rng.uniform(-15, 15)),
                shear=float(rng.uniform(-0.2, 0.2)),
                aspect=float(rng.uniform(0.92, 1.08)),
                blur=blur)


def _glyph_frame(char: str, height: float, style: dict):
    """Template resized so its ink is ``height`` px tall, the residual linear map
    (aspect, shear, rotation) and the ink centre; plus the half extents of the
    mapped ink box (a bound on where the glyph's ink can reach)."""
    tpl, (x0, y0, x1, y1) = _template(char, style['weight'])
    s = height / (y1 - y0 + 1)
    h, w = tpl.shape
    tw, th = max(int(round(w * s)), 1), max(int(round(h * s)), 1)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    small = cv2.resize(tpl, (tw, th), interpolation=interp)
    sx, sy = tw / w, th / h
    centre = np.array([(x0 + x1) / 2 * sx, (y0 + y1) / 2 * sy])
    half = np.array([(x1 - x0 + 1) / 2 * sx, (y1 - y0 + 1) / 2 * sy])
    a = np.deg2rad(style['angle'])
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lin = rot @ np.array([[1.0, style['shear']], [0.0, 1.0]]) @ np.diag(
        [style['aspect'], 1.0])
    reach = np.abs(lin) @ half + 2 * style['blur'] + 1.5
    return small, lin, centre, reach


def glyph_reach(char: str, height: float, style: dict) -> np.ndarray:
    """Half width/height (px) of the region the glyph's ink stays in around its
    placement centre."""
    return _glyph_frame(char, height, style)[3]


def render_glyph(char: str, height: float, center: Sequence[float],
                 style: dict, size: int) -> np.ndarray:
    """Coverage (float32 ``(size, size)``, 0..1) of one glyph: ink ``height`` px
    tall before the style's aspect/shear/rotation, ink centre at ``center``
    ``(x, y)``, defocused by a Gaussian of sigma ``style['blur']`` px."""
    small, lin, c, _ = _glyph_frame(char, height, style)
    m = np.concatenate([lin, (np.asarray(center) - lin @ c)[:, None]], 1)
    alpha = cv2.warpAffine(small, m, (size, size), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    if style['blur'] > 0:
        alpha = cv2.GaussianBlur(alpha, (0, 0), style['blur'])
    return alpha


def ink_box(alpha: np.ndarray):
    """Tight inclusive pixel box ``(x0, y0, x1, y1)`` of ``alpha >= INK_THRESHOLD``,
    or None when there is no ink."""
    ys, xs = np.nonzero(alpha >= INK_THRESHOLD)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _iou(a, b) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0]) + 1
    ih = min(a[3], b[3]) - max(a[1], b[1]) + 1
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    area = lambda r: (r[2] - r[0] + 1) * (r[3] - r[1] + 1)  # noqa: E731
    return inter / (area(a) + area(b) - inter)


# ----------------------------------------------------------------- background
def _smooth_noise(rng, size, cells, amp):
    """(size, size, 3) float32 colour noise, bicubically upsampled from
    ``cells x cells``, values in about [-amp, amp]."""
    coarse = rng.uniform(-amp, amp, (cells, cells, 3)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)


def _background(rng, size):
    """Base colour, a linear gradient, low- and mid-frequency texture and
    low-contrast blobs (float32 HxWx3)."""
    img = np.empty((size, size, 3), np.float32)
    img[:] = rng.uniform(40, 215, 3)
    d = rng.normal(size=2)
    d /= np.linalg.norm(d)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    img += (xx * d[0] + yy * d[1])[..., None] * rng.uniform(-80, 80, 3)
    img += _smooth_noise(rng, size, 4, 30)
    img += _smooth_noise(rng, size, int(rng.integers(12, 32)),
                         float(rng.uniform(6, 22)))
    for _ in range(int(rng.integers(2, 7))):  # blobs: ellipses and polygons
        layer = np.zeros((size, size), np.float32)
        c = rng.uniform(0, size, 2)
        if rng.random() < 0.5:
            axes = rng.uniform(0.05, 0.3, 2) * size
            cv2.ellipse(layer, (int(c[0]), int(c[1])),
                        (int(axes[0]), int(axes[1])),
                        float(rng.uniform(0, 180)), 0, 360, 1.0, -1,
                        cv2.LINE_AA)
        else:
            n = int(rng.integers(3, 8))
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            rad = rng.uniform(0.05, 0.25, n) * size
            pts = c + np.stack([np.cos(ang), np.sin(ang)], 1) * rad[:, None]
            cv2.fillPoly(layer, [pts.astype(np.int32)], 1.0, cv2.LINE_AA)
        if rng.random() < 0.5:
            layer = cv2.GaussianBlur(layer, (0, 0), float(rng.uniform(1, 4)))
        col = img.mean((0, 1)) + rng.uniform(-70, 70, 3)
        _composite(img, layer, col)
    return img


def _strokes(rng, img, n, max_thickness):
    """``n`` long straight lines or scribbles (random walks of 8-15 points)."""
    size = img.shape[0]
    for _ in range(n):
        layer = np.zeros((size, size), np.float32)
        t = int(rng.integers(1, max_thickness + 1))
        if rng.random() < 0.5:
            p = rng.uniform(-0.2, 1.2, (2, 2)) * size
            cv2.line(layer, tuple(int(v) for v in p[0]),
                     tuple(int(v) for v in p[1]), 1.0, t, cv2.LINE_AA)
        else:
            # a long random walk: too many turns to pass for a glyph stroke
            n_pts = int(rng.integers(8, 16))
            start = rng.uniform(0, size, 2)
            pts = start + np.cumsum(rng.normal(0, 0.08 * size, (n_pts, 2)), 0)
            cv2.polylines(layer, [pts.astype(np.int32)], False, 1.0,
                          min(t, 2), cv2.LINE_AA)
        _composite(img, layer, rng.uniform(0, 255, 3))


def _composite(img, alpha, colour):
    """In place: ``img = img * (1 - alpha) + colour * alpha`` (colour: (3,) or
    an image)."""
    a = alpha[..., None]
    img *= 1.0 - a
    img += a * colour


def _glyph_colour(rng, img, box):
    """A solid colour or a two-colour gradient field contrasting with the
    background under ``box``."""
    x0, y0, x1, y1 = box
    bg = img[y0:y1 + 1, x0:x1 + 1].reshape(-1, 3).mean(0)
    need = rng.uniform(90, 220)

    def pick():
        best, best_d = None, -1.0
        for _ in range(24):
            col = rng.uniform(0, 255, 3)
            dist = float(np.abs(col - bg).sum())
            if dist >= need:
                return col
            if dist > best_d:
                best, best_d = col, dist
        return best

    col = pick()
    if rng.random() < 0.7:
        return col.astype(np.float32)
    size = img.shape[0]
    col2 = pick()
    d = rng.normal(size=2)
    d /= np.linalg.norm(d)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    proj = (xx - (x0 + x1) / 2) * d[0] + (yy - (y0 + y1) / 2) * d[1]
    t = np.clip(proj / max(x1 - x0, y1 - y0, 1) + 0.5, 0, 1)[..., None]
    return (col * (1 - t) + col2 * t).astype(np.float32)


# ---------------------------------------------------------------------- image
def _sample_heights(rng, n, size):
    """Glyph ink heights (px) for ``n`` objects, largest first: with prob. 0.75
    one large glyph (105-170 px at 192), the rest log-uniform in 12-100 px."""
    k = size / REF_SIZE
    hs = list(np.exp(rng.uniform(np.log(12), np.log(100), n)) * k)
    if rng.random() < 0.75:
        hs[0] = float(rng.uniform(105, 170) * k)
    return sorted(hs, reverse=True)


def make_image(rng: np.random.Generator, size: int = REF_SIZE,
               clutter: bool = True):
    """One image (uint8 BGR ``(size, size, 3)``) and its objects as a list of
    ``(label, (x0, y0, x1, y1))`` inclusive ink boxes.

    ``clutter=False`` draws the same kind of glyphs in white on black, with no
    distractors, degradations or noise: a pixel's value / 255 is then the ink
    coverage (used to test the boxes).
    """
    if clutter:
        img = _background(rng, size)
        _strokes(rng, img, int(rng.integers(2, 7)), 3)
    else:
        img = np.zeros((size, size, 3), np.float32)
    n_obj = int(rng.integers(3, 9))
    kinds = [(h, int(rng.integers(len(GLYPHS_CLASSES))))
             for h in _sample_heights(rng, n_obj, size)]
    if clutter:  # distractor glyphs (label -1), medium-sized
        kinds += [(float(np.exp(rng.uniform(np.log(14), np.log(70)))
                         * size / REF_SIZE), -1)
                  for _ in range(int(rng.integers(0, 3)))]
    placed = []  # dicts: label, alpha, vis (visible coverage), box
    for height, label in kinds:
        char = (GLYPHS_CLASSES[label] if label >= 0 else
                DISTRACTOR_GLYPHS[int(rng.integers(len(DISTRACTOR_GLYPHS)))])
        for _try in range(25):
            style = sample_style(rng, height)
            reach = glyph_reach(char, height, style)
            if np.any(2 * reach >= size - 2):
                height *= 0.85
                continue
            center = rng.uniform(reach + 1, size - 1 - reach)
            approx = (*(center - reach), *(center + reach))
            if any(_iou(approx, p['box']) > MAX_BOX_IOU for p in placed):
                continue
            alpha = render_glyph(char, height, center, style, size)
            box = ink_box(alpha)
            if box is None or any(_iou(box, p['box']) > MAX_BOX_IOU
                                  for p in placed):
                continue
            if any((p['vis'] * (1 - alpha)).sum() < (1 - MAX_HIDDEN) *
                   p['alpha'].sum() for p in placed):
                continue  # would hide too much of an earlier glyph
            colour = (_glyph_colour(rng, img, box) if clutter else
                      np.full(3, 255, np.float32))
            _composite(img, alpha, colour)
            for p in placed:
                p['vis'] = p['vis'] * (1 - alpha)
            placed.append(dict(label=label, alpha=alpha, vis=alpha, box=box))
            break
    if clutter:
        top = np.zeros((size, size), np.float32)
        for _ in range(int(rng.integers(0, 3))):  # thin lines over everything
            p = rng.uniform(-0.2, 1.2, (2, 2)) * size
            layer = np.zeros((size, size), np.float32)
            cv2.line(layer, tuple(int(v) for v in p[0]),
                     tuple(int(v) for v in p[1]), 1.0, 1, cv2.LINE_AA)
            _composite(img, layer, rng.uniform(0, 255, 3))
            top = np.maximum(top, layer)
        for p in placed:
            p['vis'] = p['vis'] * (1 - top)
        if rng.random() < 0.3:  # low resolution
            f = float(rng.uniform(0.5, 0.8))
            lo = max(int(round(size * f)), 1)
            img = cv2.resize(cv2.resize(img, (lo, lo),
                                        interpolation=cv2.INTER_AREA),
                             (size, size), interpolation=cv2.INTER_LINEAR)
        elif rng.random() < 0.25:
            img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.4, 0.8)))
        img += rng.normal(0, rng.uniform(2, 10), img.shape).astype(np.float32)
    img = np.clip(np.round(img), 0, 255).astype(np.uint8)
    objects = []
    for p in placed:
        box = ink_box(p['vis'])
        if p['label'] >= 0 and box is not None:
            objects.append((p['label'], box))
    return img, objects


# ---------------------------------------------------------------------- files
def _draw(rng, size):
    """One cluttered image and its objects as ``(label, box, area)``: the ink
    box and its area (box area: COCO's size buckets then refer to box size)."""
    img, objects = make_image(rng, size)
    return img, [(label, (x0, y0, x1, y1), (x1 - x0 + 1) * (y1 - y0 + 1))
                 for label, (x0, y0, x1, y1) in objects]


def make_glyphs(out_dir: str, num_train: int = 256, num_dev: int = 64,
                num_val: int = 128, size: int = 192, seed: int = 0) -> dict:
    """Write ``out_dir/{train,dev,val}/NNNNNN.png``, ``out_dir/annotations/
    {train,dev,val}.json`` and ``out_dir/meta.json``, unless ``meta.json``
    already records the same parameters. Returns the parameters plus
    ``generated`` (False when skipped) and, when generated, ``num_instances``.

    Defaults, sized for a CPU table: 192 px leaves room for COCO-large glyphs
    (box > 96^2 px) next to 12 px small ones in one image (160 px would save
    ~30 % compute but crowd the large ones); 256 train images hold ~1400
    glyphs, ~48 per class (29 classes), 32 iterations per epoch at batch 8;
    64 dev images to tune KD settings on, 128 val images (~700 glyphs, ~24 per
    class) for the table. About 15 ms per image on one core (~7-13 s for the
    default splits).
    """
    params = dict(num_train=int(num_train), num_dev=int(num_dev),
                  num_val=int(num_val), size=int(size), seed=int(seed),
                  version=GENERATOR_VERSION, font=font_name(),
                  classes=list(GLYPHS_CLASSES))
    categories = [dict(id=k + 1, name=n, supercategory=GLYPHS_CLASS_FAMILY[k])
                  for k, n in enumerate(GLYPHS_CLASSES)]
    return make_coco_set(out_dir, params,
                         dict(zip(SPLITS, (num_train, num_dev, num_val))),
                         _draw, categories, 'glyphs')


def set_eval_split(cfg, split: str):
    """Point a glyphs config's val/test dataloaders and evaluators at ``split``
    (e.g. ``'dev'`` for tuning); returns ``cfg``."""
    assert split in SPLITS, split
    for name in ('val_dataloader', 'test_dataloader'):
        if cfg.get(name) is not None:
            cfg[name].dataset.ann_file = f'annotations/{split}.json'
            cfg[name].dataset.data_prefix = dict(img=f'{split}/')
    for name in ('val_evaluator', 'test_evaluator'):
        if cfg.get(name) is not None:
            cfg[name].ann_file = osp.join(
                osp.dirname(cfg[name].ann_file), f'{split}.json')
    return cfg


# -------------------------------------------------------------------- dataset
@DATASETS.register_module()
class GlyphsDataset(CocoDataset):
    """COCO-format glyphs set (``make_glyphs``); classes and palette come from
    this module, so configs need no ``metainfo``."""

    METAINFO = dict(classes=GLYPHS_CLASSES, palette=GLYPHS_PALETTE)


# ------------------------------------------------------------------- preview
def sample_sheet(root: str, split: str = 'train', num: int = 8,
                 cols: int = 4, zoom: int = 2) -> np.ndarray:
    """A preview (uint8 BGR): the first ``num`` images of ``root/split`` with
    their annotated boxes and class names (box colour: the class's palette
    entry, one hue per family), above one row per family showing each member
    large and sharp, then 14 px tall with blur (as small glyphs appear)."""
    from PIL import Image, ImageDraw
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        coco = json.load(f)
    font = _font(7 * zoom)
    tiles = []
    for im in coco['images'][:num]:
        img = cv2.imread(osp.join(root, split, im['file_name']))
        img = cv2.resize(img, None, fx=zoom, fy=zoom,
                         interpolation=cv2.INTER_NEAREST)
        pil = Image.fromarray(img[..., ::-1].copy())
        draw = ImageDraw.Draw(pil)
        for ann in coco['annotations']:
            if ann['image_id'] != im['id']:
                continue
            x, y, w, h = (v * zoom for v in ann['bbox'])
            col = tuple(GLYPHS_PALETTE[ann['category_id'] - 1])
            draw.rectangle([x, y, x + w - 1, y + h - 1], outline=col,
                           width=max(zoom // 2, 1))
            name = GLYPHS_CLASSES[ann['category_id'] - 1]
            tx, ty = x, max(y - 8 * zoom, 0)
            draw.rectangle([tx, ty, tx + 6 * zoom, ty + 8 * zoom], fill=col)
            draw.text((tx + zoom, ty), name, font=font, fill=(0, 0, 0))
        tiles.append(np.asarray(pil)[..., ::-1])
    while len(tiles) % cols:
        tiles.append(np.zeros_like(tiles[0]))
    grid = np.concatenate([np.concatenate(tiles[r:r + cols], 1)
                           for r in range(0, len(tiles), cols)], 0)
    # family rows: member large (48 px), then small and blurred (14 px, x zoom)
    width = grid.shape[1]
    cell = 56
    rows = []
    for fam, members in GLYPH_FAMILIES.items():
        row = np.full((cell, width, 3), 245, np.uint8)
        pil = Image.fromarray(row)
        ImageDraw.Draw(pil).text((6, cell // 3), fam, font=_font(14),
                                 fill=(0, 0, 0))
        row = np.asarray(pil).copy()
        style = dict(weight=0, angle=0.0, shear=0.0, aspect=1.0, blur=0.0)
        for j, ch in enumerate(members):
            big = render_glyph(ch, 40, (cell / 2, cell / 2), style, cell)
            x0 = 110 + j * cell
            row[:, x0:x0 + cell] = (245 * (1 - big[..., None])).astype(
                np.uint8)
            small = render_glyph(ch, 14, (10, 10), dict(style, blur=0.7), 20)
            small = cv2.resize(small, (20 * zoom, 20 * zoom),
                               interpolation=cv2.INTER_NEAREST)
            x1 = 110 + len(members) * cell + 30 + j * (20 * zoom + 6)
            y1 = (cell - 20 * zoom) // 2
            row[y1:y1 + 20 * zoom, x1:x1 + 20 * zoom] = (
                245 * (1 - small[..., None])).astype(np.uint8)
        rows.append(row)
    return np.concatenate([grid] + rows, 0)
