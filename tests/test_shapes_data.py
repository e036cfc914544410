"""The synthetic shapes generator (ctkd_det.datasets.shapes) and its mmdet dataset config."""
import os.path as osp

import cv2
import numpy as np
import pytest

from conftest import CONFIGS, assert_same_generated_set, read_annotations

DATA_CFG = osp.join(CONFIGS, 'shapes', '_base_', 'shapes_detection.py')
SIZE = 64


def _gen(out, seed=0, num_train=6, num_val=3):
    from ctkd_det.datasets import make_shapes
    return make_shapes(str(out), num_train, num_val, SIZE, seed)


@pytest.fixture(scope='module')
def shapes_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes') / 'a'
    _gen(out)
    return out


def test_same_seed_is_identical(shapes_dir, tmp_path):
    _gen(tmp_path / 'b')
    assert_same_generated_set(shapes_dir, tmp_path / 'b', ('train', 'val'))


def test_different_seed_differs(shapes_dir, tmp_path):
    _gen(tmp_path / 'c', seed=1)
    assert read_annotations(shapes_dir, 'train') != \
        read_annotations(tmp_path / 'c', 'train')
    name = read_annotations(shapes_dir, 'train')['images'][0]['file_name']
    a = cv2.imread(str(shapes_dir / 'train' / name))
    b = cv2.imread(str(tmp_path / 'c' / 'train' / name))
    assert not np.array_equal(a, b)


def test_skip_and_regenerate(tmp_path):
    out = tmp_path / 'd'
    assert _gen(out, num_train=2, num_val=1)['generated']
    assert not _gen(out, num_train=2, num_val=1)['generated']
    # other parameters: regenerated, stale images of the larger set removed
    assert _gen(out, num_train=1, num_val=1)['generated']
    assert len(list((out / 'train').glob('*.png'))) == 1
    assert len(read_annotations(out, 'train')['images']) == 1


def test_annotations_valid(shapes_dir):
    from ctkd_det.datasets import SHAPES_CLASSES
    for split, num in (('train', 6), ('val', 3)):
        coco = read_annotations(shapes_dir, split)
        assert len(coco['images']) == num
        assert [c['name'] for c in coco['categories']] == list(SHAPES_CLASSES)
        assert [c['id'] for c in coco['categories']] == [1, 2, 3, 4]
        per_img = {im['id']: 0 for im in coco['images']}
        ann_ids = set()
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            assert w > 0 and h > 0 and ann['area'] > 0
            assert x >= 0 and y >= 0 and x + w <= SIZE and y + h <= SIZE
            assert ann['iscrowd'] == 0 and 1 <= ann['category_id'] <= 4
            per_img[ann['image_id']] += 1
            ann_ids.add(ann['id'])
        assert len(ann_ids) == len(coco['annotations'])
        assert all(1 <= n <= 4 for n in per_img.values())
        for im in coco['images']:
            img = cv2.imread(str(shapes_dir / split / im['file_name']))
            assert img.shape == (im['height'], im['width'], 3) == (SIZE, SIZE, 3)


def test_config_classes_match(shapes_dir):
    """The config names no classes: its dataset type carries the package's."""
    from mmengine.config import Config
    from mmdet.registry import DATASETS

    from ctkd_det.datasets import SHAPES_CLASSES, SHAPES_PALETTE
    cfg = Config.fromfile(DATA_CFG)
    for split in ('train', 'val', 'test'):
        ds_cfg = cfg[f'{split}_dataloader'].dataset
        assert 'metainfo' not in ds_cfg
        ds_cfg.data_root = str(shapes_dir) + '/'
        ds = DATASETS.build(ds_cfg)
        assert tuple(ds.metainfo['classes']) == SHAPES_CLASSES
        assert list(ds.metainfo['palette']) == list(SHAPES_PALETTE)
    categories = read_annotations(shapes_dir, 'train')['categories']
    assert [c['name'] for c in categories] == list(SHAPES_CLASSES)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_mmdet_coco_dataset_loads(shapes_dir, split):
    from mmengine.config import Config
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    from ctkd_det.datasets import SHAPES_CLASSES
    register_all_modules()
    cfg = Config.fromfile(DATA_CFG)
    ds_cfg = cfg[f'{split}_dataloader'].dataset
    ds_cfg.data_root = str(shapes_dir) + '/'
    ds = DATASETS.build(ds_cfg)
    coco = read_annotations(shapes_dir, split)
    assert len(ds) == len(coco['images'])
    assert tuple(ds.metainfo['classes']) == SHAPES_CLASSES
    n_inst = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert n_inst == len(coco['annotations'])
    sample = ds[0]  # the pipeline runs end to end
    assert sample['inputs'].shape[-2:] == (cfg.img_size, cfg.img_size)
    assert len(sample['data_samples'].gt_instances) > 0
