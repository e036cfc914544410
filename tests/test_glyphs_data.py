"""The synthetic glyphs set (ctkd_det.datasets.glyphs, tools/make_glyphs.py): class
families, font rendering, determinism, COCO validity, box tightness, coverage and
scale spread of the default training split, its mmdet dataset and configs."""
import json
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from ctkd_det.datasets import glyphs as G

from conftest import (CONFIGS, assert_same_generated_set, read_annotations,
                      run_python, run_tool)

CFG_DIR = osp.join(CONFIGS, 'glyphs')
DATA_CFG = osp.join(CFG_DIR, '_base_', 'glyphs_detection.py')
STUDENT_CFG = osp.join(CFG_DIR, 'faster-rcnn_r18_fpn_glyphs.py')
TEACHER_CFG = osp.join(CFG_DIR, 'faster-rcnn_r50_fpn_glyphs.py')
SMALL = dict(num_train=5, num_dev=2, num_val=3, size=192)


def _gen(out, seed=0, **kw):
    return G.make_glyphs(str(out), **dict(SMALL, seed=seed, **kw))


@pytest.fixture(scope='module')
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp('glyphs') / 'a'
    assert _gen(out)['generated']
    return out


@pytest.fixture(scope='module')
def default_train(tmp_path_factory):
    """The default-sized training split (256 images of 192 px, seed 0)."""
    out = tmp_path_factory.mktemp('glyphs_default')
    G.make_glyphs(str(out), num_dev=0, num_val=0)
    return out, read_annotations(out, 'train')


# ------------------------------------------------------------------ classes
def test_class_families():
    classes = G.GLYPHS_CLASSES
    assert len(classes) >= 20 and len(set(classes)) == len(classes)
    assert all(len(m) >= 3 for m in G.GLYPH_FAMILIES.values())
    assert classes == tuple(c for m in G.GLYPH_FAMILIES.values() for c in m)
    assert [G.GLYPHS_CLASS_FAMILY[classes.index(c)] for c in 'O0QI1lb9'] == [
        'round', 'round', 'round', 'bar', 'bar', 'bar', 'stem-bowl',
        'stem-bowl']
    assert len(G.GLYPHS_PALETTE) == len(classes)
    assert all(len(c) == 3 and all(0 <= v <= 255 for v in c)
               for c in G.GLYPHS_PALETTE)
    assert not set(G.DISTRACTOR_GLYPHS) & set(classes)
    assert G.GlyphsDataset.METAINFO['classes'] == classes


def test_font_has_every_glyph():
    """Pillow's default font is scalable and draws each class and distractor
    differently (a missing glyph would render as the same 'tofu' box)."""
    from PIL import ImageFont
    for px in (10, 80):
        assert isinstance(ImageFont.load_default(size=px),
                          ImageFont.FreeTypeFont)
    chars = G.GLYPHS_CLASSES + G.DISTRACTOR_GLYPHS
    shapes = []
    for ch in chars:
        tpl, _ = G._template(ch, 0)
        shapes.append(cv2.resize(tpl, (24, 32), interpolation=cv2.INTER_AREA))
    for i in range(len(chars)):
        for j in range(i):
            assert np.abs(shapes[i] - shapes[j]).mean() > 0.02, (chars[i],
                                                                 chars[j])


def _upright(blur=0.0):
    return dict(weight=0, angle=0.0, shear=0.0, aspect=1.0, blur=blur)


@pytest.mark.parametrize('height', [10, 24, 80])
def test_glyph_size_matches_font_metrics(height):
    """An upright glyph's box is ``height`` px tall and as wide as the font's
    own ink box scaled to that height (independent of the resampling path)."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.load_default(size=400)
    for ch in 'O0I1BSbq':
        box = G.ink_box(G.render_glyph(ch, height, (96, 96), _upright(), 192))
        w, h = box[2] - box[0] + 1, box[3] - box[1] + 1
        im = Image.fromarray(np.zeros((500, 500), np.uint8))
        ImageDraw.Draw(im).text((50, 20), ch, font=font, fill=255)
        ys, xs = np.nonzero(np.asarray(im) >= 128)
        ratio = (xs.max() - xs.min() + 1) / (ys.max() - ys.min() + 1)
        assert abs(h - height) <= 1.5, (ch, h)
        assert abs(w - ratio * height) <= 1.5, (ch, w, ratio * height)
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        assert abs(cx - 96) <= 1 and abs(cy - 96) <= 1


def test_look_alikes_converge_when_small():
    """Family siblings differ clearly when large and sharp; small and blurred,
    they are much closer (measured at the same normalised scale)."""
    def shape(ch, height, blur):
        a = G.render_glyph(ch, height, (48, 48), _upright(blur), 96)
        x0, y0, x1, y1 = G.ink_box(a)
        crop = a[y0:y1 + 1, max(x0 - 8, 0):x1 + 9]
        return cv2.resize(crop, (32, 32), interpolation=cv2.INTER_AREA)

    for a, b in [('O', 'Q'), ('C', 'G'), ('b', '6'), ('B', '8'), ('I', 'l')]:
        big = np.abs(shape(a, 80, 0) - shape(b, 80, 0)).mean()
        small = np.abs(shape(a, 12, 1.0) - shape(b, 12, 1.0)).mean()
        assert small < 0.7 * big, (a, b, small, big)


# ------------------------------------------------------------------ files
def test_same_seed_is_identical(small_set, tmp_path):
    _gen(tmp_path / 'b')
    assert_same_generated_set(small_set, tmp_path / 'b', G.SPLITS)


def test_different_seed_and_splits_differ(small_set, tmp_path):
    _gen(tmp_path / 'c', seed=1)
    assert read_annotations(small_set, 'train') != \
        read_annotations(tmp_path / 'c', 'train')
    first = lambda root, split: cv2.imread(  # noqa: E731
        str(root / split / '000000.png'))
    assert not np.array_equal(first(small_set, 'train'),
                              first(tmp_path / 'c', 'train'))
    # the splits are separate random streams
    imgs = [first(small_set, s) for s in G.SPLITS]
    assert not np.array_equal(imgs[0], imgs[1])
    assert not np.array_equal(imgs[0], imgs[2])
    assert not np.array_equal(imgs[1], imgs[2])


def test_skip_and_regenerate(tmp_path):
    out = tmp_path / 'd'
    kw = dict(num_train=2, num_dev=1, num_val=1, size=96)
    res = G.make_glyphs(str(out), **kw)
    assert res['generated'] and res['font'] == G.font_name()
    stamp = (out / 'train' / '000000.png').stat().st_mtime_ns
    assert not G.make_glyphs(str(out), **kw)['generated']
    assert (out / 'train' / '000000.png').stat().st_mtime_ns == stamp
    # other parameters: regenerated, stale images of the larger set removed
    assert G.make_glyphs(str(out), **dict(kw, num_train=1))['generated']
    assert len(list((out / 'train').glob('*.png'))) == 1
    assert len(read_annotations(out, 'train')['images']) == 1


def test_cli_writes_set_and_preview(tmp_path):
    out, png = tmp_path / 'cli', tmp_path / 'preview.png'
    proc = run_tool('make_glyphs', '--out', out, '--num-train', '2',
                    '--num-dev', '1', '--num-val', '1', '--size', '96',
                    '--seed', '3', '--samples', png)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / 'meta.json') as f:
        meta = json.load(f)
    assert (meta['num_train'], meta['size'], meta['seed']) == (2, 96, 3)
    sheet = cv2.imread(str(png))
    assert sheet is not None and sheet.shape[1] == 4 * 2 * 96


def _check_coco(root, split, size):
    from pycocotools.coco import COCO
    coco = COCO(osp.join(root, 'annotations', f'{split}.json'))
    cats = coco.loadCats(coco.getCatIds())
    assert [c['name'] for c in cats] == list(G.GLYPHS_CLASSES)
    assert [c['id'] for c in cats] == list(range(1, len(G.GLYPHS_CLASSES) + 1))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len({a['id'] for a in anns}) == len(anns)
    for a in anns:
        x, y, w, h = a['bbox']
        assert w >= 1 and h >= 1 and a['area'] == w * h
        assert x >= 0 and y >= 0 and x + w <= size and y + h <= size
        assert a['iscrowd'] == 0
        assert 1 <= a['category_id'] <= len(G.GLYPHS_CLASSES)
    for img_id in coco.getImgIds():
        im = coco.loadImgs(img_id)[0]
        assert (im['width'], im['height']) == (size, size)
        assert 1 <= len(coco.getAnnIds(imgIds=img_id)) <= 8
    return coco


def test_coco_valid(small_set):
    for split in G.SPLITS:
        coco = _check_coco(small_set, split, 192)
        assert len(coco.getImgIds()) == SMALL[f'num_{split}']
        for im in coco.loadImgs(coco.getImgIds()):
            img = cv2.imread(str(small_set / split / im['file_name']))
            assert img.shape == (192, 192, 3)


def test_default_train_split(default_train):
    """Every class is well represented (classes are drawn uniformly: ~48 of
    ~1400 glyphs each, P(count < 20) ~ 1e-6 per class; the split itself is
    fixed by the seed), and boxes span COCO's small / medium / large."""
    root, coco = default_train
    _check_coco(root, 'train', 192)
    assert len(coco['images']) == 256
    anns = coco['annotations']
    assert 4.5 <= len(anns) / 256 <= 6.5
    counts = np.bincount([a['category_id'] - 1 for a in anns],
                         minlength=len(G.GLYPHS_CLASSES))
    assert counts.min() >= 20, dict(zip(G.GLYPHS_CLASSES, counts))
    area = np.array([a['area'] for a in anns])
    small, large = (area < 32**2).mean(), (area > 96**2).mean()
    assert small >= 0.25 and large >= 0.08 and 1 - small - large >= 0.25


# ------------------------------------------------------------------ boxes
@pytest.mark.parametrize('seed', range(8))
def test_boxes_are_tight_on_clean_images(seed):
    """Glyphs placed and drawn by the generator's own path, white on black
    (pixel / 255 = ink coverage): every inked pixel lies in an annotated box,
    and each box side touches ink (boxes neither miss nor pad glyphs)."""
    img, objects = G.make_image(np.random.default_rng([99, seed]), 192,
                                clutter=False)
    assert 1 <= len(objects) <= 8
    cov = img.astype(np.float32).mean(-1) / 255
    inside = np.zeros(cov.shape, bool)
    for label, (x0, y0, x1, y1) in objects:
        inside[y0:y1 + 1, x0:x1 + 1] = True
        ink = cov[y0:y1 + 1, x0:x1 + 1] >= G.INK_THRESHOLD - 0.01
        assert ink[0].any() and ink[-1].any(), (label, 'top/bottom')
        assert ink[:, 0].any() and ink[:, -1].any(), (label, 'left/right')
    # >= 2 * threshold: some glyph covers the pixel by more than the threshold
    assert not ((cov >= 2 * G.INK_THRESHOLD) & ~inside).any()


def test_box_follows_transform():
    """A rotated, sheared, emboldened and blurred glyph: the box encloses all
    of its ink and is tight on all four sides; it grows with a strong blur's
    halo and with the rotation and shear."""
    style = dict(weight=5, angle=12.0, shear=-0.15, aspect=1.05, blur=1.0)

    def box(**kw):
        return G.ink_box(G.render_glyph('I', 60, (90, 100), dict(style, **kw),
                                        192))

    alpha = G.render_glyph('I', 60, (90, 100), style, 192)
    x0, y0, x1, y1 = G.ink_box(alpha)
    ink = alpha >= G.INK_THRESHOLD
    assert ink[y0, x0:x1 + 1].any() and ink[y1, x0:x1 + 1].any()
    assert ink[y0:y1 + 1, x0].any() and ink[y0:y1 + 1, x1].any()
    assert ink.sum() == ink[y0:y1 + 1, x0:x1 + 1].sum()
    sharp, blurred = box(blur=0.0), box(blur=2.5)
    assert sharp[0] >= x0 and sharp[1] >= y0 and sharp[2] <= x1
    assert sharp[3] <= y1
    assert blurred[0] <= sharp[0] and blurred[1] <= sharp[1]
    assert blurred[2] >= sharp[2] and blurred[3] >= sharp[3]
    assert blurred != sharp
    upright = box(angle=0.0, shear=0.0)
    assert (x1 - x0) > (upright[2] - upright[0]) + 10


# ----------------------------------------------------------- mmdet side
def test_configs():
    from mmengine.config import Config
    data = Config.fromfile(DATA_CFG)
    assert data.dataset_type == 'GlyphsDataset'
    assert 'metainfo' not in data.train_dataloader.dataset
    assert not any(t['type'] == 'RandomFlip' for t in data.train_pipeline)
    student, teacher = Config.fromfile(STUDENT_CFG), Config.fromfile(
        TEACHER_CFG)
    for cfg in (student, teacher):
        assert cfg.model.roi_head.bbox_head.num_classes == len(
            G.GLYPHS_CLASSES)
        assert cfg.train_dataloader.dataset.type == 'GlyphsDataset'
        assert cfg.val_evaluator.ann_file.endswith('annotations/val.json')
    # a config's imports alone register the dataset type (a fresh process per
    # distinct import list)
    code = ('import importlib, sys; from mmdet.registry import DATASETS; '
            '[importlib.import_module(m) for m in sys.argv[1:]]; '
            "assert DATASETS.get('GlyphsDataset') is not None")
    for imports in {tuple(c.custom_imports.imports) for c in (student, teacher)}:
        proc = run_python('-c', code, *imports)
        assert proc.returncode == 0, (imports, proc.stderr[-3000:])
    assert (student.model.backbone.depth, teacher.model.backbone.depth) == (18,
                                                                           50)
    assert student.model.neck.out_channels == 64
    assert teacher.model.neck.out_channels == 128


def test_set_eval_split():
    from mmengine.config import Config
    cfg = G.set_eval_split(Config.fromfile(DATA_CFG), 'dev')
    for name in ('val', 'test'):
        ds = cfg[f'{name}_dataloader'].dataset
        assert ds.ann_file == 'annotations/dev.json'
        assert ds.data_prefix.img == 'dev/'
        assert cfg[f'{name}_evaluator'].ann_file == (
            'data/glyphs/annotations/dev.json')
    with pytest.raises(AssertionError):
        G.set_eval_split(cfg, 'test')


@pytest.mark.parametrize('split', G.SPLITS)
def test_dataset_builds(small_set, split):
    from mmengine.config import Config
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(DATA_CFG)
    if split != 'train':
        G.set_eval_split(cfg, split)
    loader = cfg[('train' if split == 'train' else 'val') + '_dataloader']
    loader.dataset.data_root = str(small_set) + '/'
    ds = DATASETS.build(loader.dataset)
    assert isinstance(ds, G.GlyphsDataset)
    coco = read_annotations(small_set, split)
    assert len(ds) == len(coco['images']) > 0
    assert ds.metainfo['classes'] == G.GLYPHS_CLASSES
    assert len(ds.metainfo['palette']) == len(G.GLYPHS_CLASSES)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    labels = sorted(ins['bbox_label'] for info in infos
                    for ins in info['instances'])
    assert labels == sorted(a['category_id'] - 1 for a in coco['annotations'])
    sample = ds[0]
    assert sample['inputs'].shape == (3, 192, 192)
    if split == 'train':
        gt = sample['data_samples'].gt_instances
        assert len(gt) > 0 and gt.labels.max() < len(G.GLYPHS_CLASSES)


def test_student_trains_on_glyphs(small_set):
    """Two AdamW steps of the student config's Faster R-CNN on two training
    images: finite losses, with a classification loss over all 29+1 classes."""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmdet.registry import DATASETS, MODELS
    torch.manual_seed(0)
    cfg = Config.fromfile(STUDENT_CFG)
    cfg.train_dataloader.dataset.data_root = str(small_set) + '/'
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    assert model.roi_head.bbox_head.fc_cls.out_features == len(
        G.GLYPHS_CLASSES) + 1
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = pseudo_collate([ds[0], ds[1]])
    for _ in range(2):
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
        loss, _ = model.parse_losses(losses)
        assert torch.isfinite(loss) and loss > 0
        assert torch.isfinite(losses['loss_cls']) and losses['loss_cls'] > 0
        opt.zero_grad()
        loss.backward()
        grad = model.roi_head.bbox_head.fc_cls.weight.grad
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0
        opt.step()


def test_ctkd_dkd_distils_on_glyphs(small_set):
    """A tiny distillation run on glyphs: the glyph student distilled from the
    glyph teacher's architecture (random weights) by DKD with CTKD's global T
    at λ = 1: finite KD losses over 29 + 1 columns with foreground RoIs among
    the sampled ones, a learning temperature, no teacher in the state dict.
    (The reversal's sign with DKD is tested in test_losses.py.)"""
    from mmengine.config import Config
    from mmengine.dataset import pseudo_collate
    from mmdet.registry import DATASETS, MODELS
    torch.manual_seed(0)
    cfg = Config.fromfile(STUDENT_CFG)
    cfg.train_dataloader.dataset.data_root = str(small_set) + '/'
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    model = MODELS.build(dict(
        cfg.model, type='KDTwoStageDetector', teacher_config=TEACHER_CFG,
        temperature=dict(type='GlobalTemperature', t_min=1.0, t_max=21.0,
                         init_value=-2.0),
        distill_loss=dict(type='DKDLoss', alpha=1.0, beta=0.25)))
    model.init_weights()
    model.train()
    model.temperature.lambda_ = 1.0
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    batch = pseudo_collate([ds[0], ds[1]])
    thetas = [float(model.temperature.theta)]
    for _ in range(2):
        losses = model(**model.data_preprocessor(batch, True), mode='loss')
        labels = model.last_roi_record.labels
        assert model.last_roi_record.cls_score.size(1) == \
            len(G.GLYPHS_CLASSES) + 1
        assert (labels < len(G.GLYPHS_CLASSES)).any()  # foreground RoIs
        assert torch.isfinite(losses['loss_kd']) and losses['loss_kd'] > 0
        opt.zero_grad()
        losses['loss_kd'].backward()
        assert model.temperature.theta.grad.abs() > 0
        opt.step()
        thetas.append(float(model.temperature.theta))
    assert thetas[-1] != thetas[0]
    assert not any(k.startswith('teacher.') for k in model.state_dict())
