"""ctkd_det.experiments.class_structure: the COCO error analysis levels on
hand-made detections, and the RoI confusion statistics of a stub RoI head whose
logits are known."""
import math
import os.path as osp

import pytest
import torch

from ctkd_det.datasets import glyphs as G
from ctkd_det.experiments import class_structure as CS

from conftest import CONFIGS

pytestmark = pytest.mark.usefixtures('one_torch_thread')

# 3 classes: O and 0 look alike (family 'round'), I is another family
CATS = [dict(id=1, name='O', supercategory='round'),
        dict(id=2, name='0', supercategory='round'),
        dict(id=3, name='I', supercategory='bar')]
A, B, C = [10, 10, 20, 20], [50, 50, 20, 20], [70, 10, 20, 20]


def _gt(*objs):
    return dict(
        images=[dict(id=1, width=100, height=100, file_name='x.png')],
        categories=CATS,
        annotations=[dict(id=i + 1, image_id=1, category_id=c, bbox=b,
                          area=b[2] * b[3], iscrowd=0)
                     for i, (b, c) in enumerate(objs)])


def _det(box, cat, score):
    return dict(image_id=1, category_id=cat, bbox=box, score=score)


def test_perfect_detections_score_one_everywhere():
    gt = _gt((A, 1), (B, 3))
    out = CS.coco_analyze(gt, [_det(A, 1, .9), _det(B, 3, .8)])
    for level in CS.BREAKDOWN_LEVELS:
        assert out[level] == pytest.approx(1.0), level
    assert out['cls_error'] == out['loc_error'] == out['family_error'] == 0


def test_confusions_are_forgiven_by_family_then_by_any_class():
    """A confident '0' on the O object halves the AP of class '0' (its true
    '0' ranks second); Sim and Oth forgive it (same family). A confident 'O'
    on the I object is forgiven by Oth only (other family)."""
    gt = _gt((A, 1), (C, 2), (B, 3))
    dets = [_det(A, 1, .8), _det(A, 2, .9), _det(C, 2, .5), _det(B, 3, .9)]
    out = CS.coco_analyze(gt, dets)
    # classes O, 0, I: APs 1, 0.5, 1
    assert out['C50'] == pytest.approx((1 + .5 + 1) / 3)
    assert out['Loc'] == pytest.approx(out['C50'])
    assert out['Sim'] == out['Oth'] == pytest.approx(1.0)
    assert out['family_error'] == pytest.approx(.5 / 3)

    dets = [_det(A, 1, .5), _det(B, 1, .9), _det(B, 3, .9), _det(C, 2, .9)]
    out = CS.coco_analyze(gt, dets)
    assert out['C50'] == pytest.approx((.5 + 1 + 1) / 3)
    assert out['Sim'] == pytest.approx(out['C50'])  # another family: kept
    assert out['Oth'] == pytest.approx(1.0)
    assert out['cls_error'] == pytest.approx(.5 / 3)
    assert out['family_error'] == pytest.approx(0.0)


def test_loose_box_counts_only_at_iou_0_1():
    gt = _gt((A, 1), (B, 3))
    loose = [10, 10, 20, 6]  # IoU 0.3 with A
    out = CS.coco_analyze(gt, [_det(loose, 1, .9), _det(B, 3, .9)])
    assert out['C50'] == pytest.approx(0.5) and out['C75'] == \
        pytest.approx(0.5)
    assert out['Loc'] == pytest.approx(1.0)
    assert out['loc_error'] == pytest.approx(0.5)
    assert out['cls_error'] == pytest.approx(0.0)
    assert CS.coco_analyze(gt, [])['C50'] == 0.0


class _StubHead:
    """RoI head whose logits for a ground-truth box of class k are 3 for k, 2
    for the first other member of k's family, 0 elsewhere (background
    included)."""

    def __init__(self, box_labels, families):
        self.box_labels, self.families = box_labels, families

    def _bbox_forward(self, feats, rois):
        num = len(self.families)
        out = torch.zeros(len(rois), num + 1)
        for i, r in enumerate(rois[:, 1:].round().long().tolist()):
            k = self.box_labels[tuple(r)]
            sib = next(j for j in range(num)
                       if j != k and self.families[j] == self.families[k])
            out[i, k], out[i, sib] = 3.0, 2.0
        return dict(cls_score=out)


def test_roi_confusion_of_known_logits(tmp_path):
    from mmengine.config import Config
    from mmengine.runner import Runner

    from mmdet.models.data_preprocessors import DetDataPreprocessor
    root = str(tmp_path / 'glyphs')
    G.make_glyphs(root, num_train=1, num_dev=0, num_val=2, size=192, seed=0)
    cfg = Config.fromfile(osp.join(CONFIGS, 'glyphs', '_base_',
                                   'glyphs_detection.py'))
    cfg.val_dataloader.dataset.data_root = root + '/'
    loader = Runner.build_dataloader(cfg.val_dataloader)
    ds = loader.dataset
    box_labels = {}
    for i in range(len(ds)):
        for ins in ds.get_data_info(i)['instances']:
            box_labels[tuple(round(v) for v in ins['bbox'])] = \
                ins['bbox_label']
    fams = list(G.GLYPHS_CLASS_FAMILY)

    class Stub:
        data_preprocessor = DetDataPreprocessor()
        roi_head = _StubHead(box_labels, fams)

        @staticmethod
        def extract_feat(x):
            return None

    res = CS.roi_confusion(Stub(), loader)
    labels = list(box_labels.values())
    num = len(fams)
    assert res['n'] == len(labels) > 0
    assert res['accuracy'] == 1.0
    e2, e3 = math.exp(2), math.exp(3)
    z = e3 + e2 + (num - 1)  # C + 1 columns: k, sibling, C - 1 zeros
    within, chance = [], []
    for k in labels:
        f = fams.count(fams[k])
        within.append((e2 + f - 2) / (e2 + num - 2))
        chance.append((f - 1) / (num - 1))
    assert res['within_family'] == pytest.approx(sum(within) / len(within))
    assert res['chance'] == pytest.approx(sum(chance) / len(chance))
    assert res['within_family'] > res['chance']
    assert res['bg_mass'] == pytest.approx(1 / z)
    k = labels[0]
    assert res['matrix'][k][k] == pytest.approx(e3 / z)
    assert math.isnan(res['wrong_in_family'])  # nothing misclassified
    assert 'within family' in CS.format_confusion(res)
