"""Files of a generated COCO-format detection set (shapes, glyphs).

A generator supplies ``draw(rng, size) -> (image, objects)``: one uint8 BGR
``(size, size, 3)`` image and its objects as ``(label, (x0, y0, x1, y1), area)``
(label: class index, category id ``label + 1``; the box in inclusive pixel
corners, written as COCO's ``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]``).
:func:`make_coco_set` then writes

* ``OUT/<split>/NNNNNN.png``: image ``i`` of the ``k``-th split drawn with
  ``np.random.default_rng([seed, k, i])``, so it depends only on
  ``(seed, split, i)``;
* ``OUT/annotations/<split>.json``: COCO ``images`` / ``annotations`` /
  ``categories`` (annotation ids from 1 per split, ``iscrowd = 0``);
* ``OUT/meta.json``: the generator's parameters, written last. A set whose
  ``meta.json`` records the same parameters (and whose annotation files exist)
  is not written again.
"""
import json
import os
import os.path as osp
import re
from typing import Callable, Dict, List

import cv2
import numpy as np


def write_split(out_dir: str, split: str, index: int, num: int, size: int,
                seed: int, draw: Callable, categories: List[dict],
                description: str) -> int:
    """Draw and write the ``num`` images of ``split`` (the set's ``index``-th
    split) and its annotation file; returns the number of annotations. Images
    of an earlier, larger set in the split's folder are removed first."""
    img_dir = osp.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    for name in os.listdir(img_dir):  # stale images of an earlier, larger set
        if re.fullmatch(r'\d{6}\.png', name):
            os.remove(osp.join(img_dir, name))
    images, anns = [], []
    for i in range(num):
        rng = np.random.default_rng([seed, index, i])
        img, objects = draw(rng, size)
        file_name = f'{i:06d}.png'
        cv2.imwrite(osp.join(img_dir, file_name), img)
        images.append(dict(id=i + 1, file_name=file_name, width=size,
                           height=size))
        for label, (x0, y0, x1, y1), area in objects:
            anns.append(dict(id=len(anns) + 1, image_id=i + 1,
                             category_id=label + 1,
                             bbox=[x0, y0, x1 - x0 + 1, y1 - y0 + 1],
                             area=area, iscrowd=0))
    coco = dict(info=dict(description=description), images=images,
                annotations=anns, categories=categories)
    with open(osp.join(out_dir, 'annotations', f'{split}.json'), 'w') as f:
        json.dump(coco, f)
    return len(anns)


def make_coco_set(out_dir: str, params: dict, split_sizes: Dict[str, int],
                  draw: Callable, categories: List[dict], name: str) -> dict:
    """Write the set under ``out_dir`` unless its ``meta.json`` equals
    ``params`` (the generator's arguments; ``size`` and ``seed`` among them).

    ``split_sizes``: images per split, in the splits' order (which fixes each
    split's random stream). Returns ``params`` plus ``generated`` (False when
    skipped) and, when generated, ``num_instances`` per split.
    """
    meta_path = osp.join(out_dir, 'meta.json')
    ann_paths = [osp.join(out_dir, 'annotations', f'{s}.json')
                 for s in split_sizes]
    if osp.isfile(meta_path) and all(osp.isfile(p) for p in ann_paths):
        with open(meta_path) as f:
            if json.load(f) == params:
                return dict(params, generated=False)
    if osp.isfile(meta_path):
        os.remove(meta_path)  # a crash below must not leave a stale 'done' marker
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    counts = {
        split: write_split(out_dir, split, k, num, params['size'],
                           params['seed'], draw, categories,
                           f'synthetic {name} ({split})')
        for k, (split, num) in enumerate(split_sizes.items())
    }
    with open(meta_path, 'w') as f:
        json.dump(params, f, indent=1)
    return dict(params, generated=True, num_instances=counts)
