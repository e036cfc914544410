"""ctkd_det.experiments.box_quality (CLI tools/box_quality.py): matching,
Spearman with tied ranks, and a trained run's boxes in original-image pixels."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from ctkd_det.apis import last_checkpoint
from ctkd_det.experiments import box_quality
from ctkd_det.models.detectors import KDTwoStageDetector

from _kd_runs import tiny_ctkd_cfg
from conftest import run_tool

pytestmark = pytest.mark.usefixtures('one_torch_thread')


def test_box_quality_matching_by_hand():
    """Greedy matching by score, per class, IoU >= 0.5, each object once."""
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], float)
    gt_labels = np.array([0, 0, 1])
    pred = np.array([[0, 0, 10, 10],      # class 0, exact: TP, IoU 1
                     [0, 0, 10, 8],       # class 0, duplicate of it: FP (0.8)
                     [20, 20, 30, 26],    # class 0, loose: TP, IoU 0.6
                     [40, 40, 50, 50],    # class 0, nowhere: FP, IoU 0
                     [0, 0, 10, 10]], float)  # class 2: no such object
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    labels = np.array([0, 0, 0, 0, 2])
    tp, n_gt, pairs = box_quality.match_image(pred, scores, labels, gt,
                                              gt_labels)
    assert n_gt == 3 and tp == pytest.approx([1.0, 0.6])
    assert sorted(pairs) == pytest.approx(sorted(
        [(0.9, 1.0), (0.8, 0.8), (0.7, 0.6), (0.6, 0.0), (0.5, 0.0)]))
    # a lower-scored exact box does not steal the match of a higher one
    tp, _, _ = box_quality.match_image(pred[[2, 0]], np.array([0.9, 0.1]),
                                       np.array([0, 0]), gt[:2], gt_labels[:2])
    assert tp == pytest.approx([0.6, 1.0])
    s = box_quality.summarise([1.0, 0.6, 0.8], [(0.9, 0.9), (0.5, 0.5),
                                                (0.1, 0.2), (0.01, 1.0)])
    assert s['iou_tp'] == pytest.approx(0.8) and s['n_tp'] == 3
    assert s['r75_over_r50'] == pytest.approx(2 / 3)
    assert s['rank'] == pytest.approx(1.0)  # score < 0.05 left out


def test_box_quality_rank_averages_ties():
    """Tied IoUs (the detections that hit nothing: IoU 0) share their average
    rank, so the correlation does not depend on the order of the detections."""
    assert box_quality.average_ranks([0.5, 0, 0.5, 0, 0]).tolist() == \
        [4.5, 2.0, 4.5, 2.0, 2.0]
    assert box_quality.average_ranks([3, 1, 2]).tolist() == [3.0, 1.0, 2.0]
    # scores 0.9 > 0.8 > 0.7 > 0.6: ranks 4 3 2 1; IoUs 0.8 0 0 0: ranks
    # 4 2 2 2 (mean 2.5 both). Deviations (1.5, .5, -.5, -1.5) and
    # (1.5, -.5, -.5, -.5): covariance sum 2.25 - .25 + .25 + .75 = 3, squares
    # 5 and 3: rho = 3 / sqrt(15). (Ordinal ranks 3 0 1 2 for the IoUs would
    # give 1 / 5.)
    pairs = [(0.9, 0.8), (0.8, 0.0), (0.7, 0.0), (0.6, 0.0)]
    expected = 3 / np.sqrt(15)
    assert box_quality.summarise([0.8], pairs)['rank'] == \
        pytest.approx(expected)
    for order in ([3, 2, 1, 0], [1, 3, 0, 2]):
        shuffled = [pairs[i] for i in order]
        assert box_quality.summarise([0.8], shuffled)['rank'] == \
            pytest.approx(expected)
    # ties in both: scores ranks 3.5 3.5 1.5 1.5, IoUs ranks 4 2 2 2:
    # deviations (1, 1, -1, -1) and (1.5, -.5, -.5, -.5): covariance sum
    # 1.5 - .5 + .5 + .5 = 2, squares 4 and 3: rho = 2 / sqrt(12)
    both = [(0.9, 0.8), (0.9, 0.0), (0.2, 0.0), (0.2, 0.0)]
    assert box_quality.spearman(*zip(*both)) == \
        pytest.approx(2 / np.sqrt(12))
    # a constant variable has no ranking: NaN, not an artefact of the order
    assert np.isnan(box_quality.spearman([0.9, 0.8, 0.7], [0.0, 0.0, 0.0]))
    assert np.isnan(box_quality.spearman([0.9], [1.0]))


def test_box_quality_table():
    groups = {'kd': [dict(iou_tp=0.7, r75_over_r50=0.5, rank=0.1,
                          loss_bbox=0.4, n_tp=10),
                     dict(iou_tp=0.8, r75_over_r50=0.25, rank=0.3,
                          loss_bbox=0.2, n_tp=11)]}
    assert box_quality.format_table(groups).splitlines() == [
        '| run | runs | iou_tp | r75_over_r50 | rank | loss_bbox | n_tp |',
        '|---|---|---|---|---|---|---|',
        '| kd | 2 | 0.750 | 0.375 | 0.200 | 0.300 | 10.500 |']
    assert box_quality.format_result('a/seed0', groups['kd'][0]) == \
        'a/seed0: iou_tp 0.700, r75_over_r50 0.500, rank 0.100, ' \
        'loss_bbox 0.400, n_tp 10'


@pytest.fixture(scope='module')
def trained_run(tiny_shapes, tiny_teacher, tmp_path_factory):
    """A tiny CTKD run (1 epoch, 4 iterations) with its ``config.py`` in the
    work dir, as tools/train.py leaves it."""
    work = str(tmp_path_factory.mktemp('box_quality') / 'run')
    cfg = tiny_ctkd_cfg(tiny_shapes, work, tiny_teacher, epochs=1)
    Runner.from_cfg(cfg).train()
    cfg.dump(osp.join(work, 'config.py'))
    assert last_checkpoint(work)
    return dict(work=work)


@pytest.mark.parametrize('pipeline', ['as trained', 'annotations resized'])
def test_box_quality_compares_boxes_in_original_image_pixels(
        trained_run, monkeypatch, tmp_path, pipeline):
    """A detector that outputs the val annotations (original-image pixels)
    must score IoU 1 on every object, also when the val pipeline loads the
    annotations before a Resize (mmdet then packs resized ground truth)."""
    run = trained_run['work']
    cfg = Config.fromfile(osp.join(run, 'config.py'))
    if pipeline == 'annotations resized':
        pipe = cfg.val_dataloader.dataset.pipeline
        load = next(t for t in pipe if t['type'] == 'LoadAnnotations')
        pipe.remove(load)
        pipe.insert(1, load)  # before Resize
        next(t for t in pipe if t['type'] == 'Resize')['scale'] = (32, 32)
        shutil.copy(osp.join(run, 'last_checkpoint'), tmp_path)
        cfg.dump(str(tmp_path / 'config.py'))
        run = str(tmp_path)
    ds = cfg.val_dataloader.dataset
    with open(osp.join(ds.data_root, ds.ann_file)) as f:
        coco = json.load(f)
    anns = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        anns.setdefault(a['image_id'], []).append(
            ([x, y, x + w, y + h], a['category_id'] - 1))
    original = KDTwoStageDetector.test_step

    def oracle(self, data):
        samples = original(self, data)
        for s in samples:
            boxes, labels = zip(*anns[s.metainfo['img_id']])
            s.pred_instances = InstanceData(
                bboxes=torch.tensor(boxes, dtype=torch.float32),
                labels=torch.tensor(labels), scores=torch.ones(len(labels)))
        return samples

    monkeypatch.setattr(KDTwoStageDetector, 'test_step', oracle)
    out = box_quality.evaluate_run(run)
    assert out['n_tp'] == len(coco['annotations']) > 0
    assert out['iou_tp'] == pytest.approx(1.0, abs=1e-5)
    assert out['r75_over_r50'] == 1.0
    if pipeline == 'as trained':
        assert out['loss_bbox'] > 0  # from the run's training log


def test_box_quality_does_not_read_the_teacher(trained_run, tmp_path):
    """The student predicts alone: a run whose teacher checkpoint is gone
    is still evaluated, with the student's own weights."""
    run = str(tmp_path / 'run')
    shutil.copytree(trained_run['work'], run)
    cfg = Config.fromfile(osp.join(run, 'config.py'))
    cfg.model.teacher_ckpt = str(tmp_path / 'deleted_teacher.pth')
    cfg.dump(osp.join(run, 'config.py'))
    assert not os.path.exists(cfg.model.teacher_ckpt)
    _, model = box_quality.load_student(run)
    ckpt = torch.load(last_checkpoint(trained_run['work']), map_location='cpu',
                      weights_only=False)['state_dict']
    for k, v in model.state_dict().items():
        if not k.startswith('teacher.'):
            assert torch.equal(v, ckpt[k]), k
    assert not model.training


def test_box_quality_cli(trained_run):
    """tools/box_quality.py: a line per run, then the table per parent dir."""
    run = trained_run['work']
    proc = run_tool('box_quality', run, '--group-by-parent')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    result = box_quality.evaluate_run(run)
    # (pycocotools prints its own lines too)
    assert [ln for ln in lines if ln.startswith(f'{run}: ')] == \
        [box_quality.format_result(run, result)]
    parent = osp.basename(osp.dirname(run))
    assert lines[-3:] == box_quality.format_table(
        {parent: [result]}).splitlines()
