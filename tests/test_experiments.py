"""ctkd_det.experiments without training: the table and the ablation are plans of
config files (a file's config is the plan's run), the cache key follows the
weights a run reads, result tables, the job pool's thread counts."""
import argparse
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from ctkd_det.experiments import ablation, plans, table
from ctkd_det.experiments.pool import JobPool
from ctkd_det.experiments.results import aggregate, paired_deltas
from ctkd_det.experiments.runs import (REPO, cache_key, file_digest, is_cached,
                                       thread_env, weight_inputs)

WORK = table.FULL['work_dir']  # the fixed work dir the table files point into


def _table_args(**options):
    """``tools/experiment.py``'s settings with the given options (default: the
    full table)."""
    args = argparse.Namespace(
        quick=False, methods=None, seeds=None, epochs=None, teacher_epochs=None,
        pretrain_epochs=None, teacher_seed=0, num_train=None, num_val=None,
        size=None, data_root=None, threads=None, jobs=1, work_dir=None,
        out=None, batch_size=0, cfg_options=None, cfg_options_raw=None, argv=[])
    for k, v in options.items():
        setattr(args, k, v)
    return table.resolve(args)


def _file_config(path, seed=None):
    """``tools/train.py FILE --cfg-options randomness.seed=SEED``'s config."""
    cfg = Config.fromfile(path)
    if seed is not None:
        cfg.merge_from_dict({'randomness.seed': seed})
    return cfg.to_dict()


def _stage_checkpoint(stage: str, epochs: int) -> str:
    """Where the table's stage run leaves its last checkpoint."""
    return osp.join(REPO, WORK, stage, f'epoch_{epochs}.pth')


def test_table_cells_are_their_config_files():
    """The default table trains exactly the files (seed set on the command line):
    `python tools/train.py configs/shapes/table/<m>.py --cfg-options
    randomness.seed=S` reproduces a cell."""
    args = _table_args()
    assert args.methods == list(plans.TABLE_METHODS)
    assert table.teacher_config(args).to_dict() == \
        _file_config(plans.table_config('teacher'), 0)
    assert table.pretrain_config(args).to_dict() == \
        _file_config(plans.table_config('pretrain'), 0)
    teacher = _stage_checkpoint('teacher', args.teacher_epochs)
    backbone = _stage_checkpoint('pretrain', args.pretrain_epochs)
    for method in args.methods:
        for seed in args.seeds:
            cfg = table.student_config(method, seed, args, teacher, backbone)
            assert cfg.to_dict() == \
                _file_config(plans.table_config(method), seed), (method, seed)


def test_table_files_hold_the_table_setting():
    """The files point at the checkpoints the table's stage runs write, and each
    holds its method's temperature."""
    teacher = Config.fromfile(plans.table_config('teacher'))
    pre = Config.fromfile(plans.table_config('pretrain'))
    assert teacher.train_cfg.max_epochs == table.FULL['teacher_epochs']
    assert pre.train_cfg.max_epochs == table.FULL['pretrain_epochs']
    assert pre.train_dataloader.dataset.data_root == 'data/shapes_pretrain/'
    temps = {}
    for method in plans.TABLE_METHODS:
        cfg = Config.fromfile(plans.table_config(method))
        assert cfg.train_cfg.max_epochs == table.FULL['epochs']
        assert cfg.train_dataloader.dataset.data_root == 'data/shapes/'
        assert cfg.default_hooks.checkpoint.save_optimizer is False
        assert osp.join(REPO, cfg.model.backbone.init_cfg.checkpoint) == \
            _stage_checkpoint('pretrain', pre.train_cfg.max_epochs)
        if method != 'none':
            assert osp.join(REPO, cfg.model.teacher_ckpt) == \
                _stage_checkpoint('teacher', teacher.train_cfg.max_epochs)
            temps[method] = (cfg.model.temperature.type,
                             cfg.model.temperature.get('value'),
                             cfg.model.distill_loss.type,
                             cfg.model.distill_loss.get('fg_weight'))
    fixed, kd = 'FixedTemperature', 'KDLoss'
    assert temps == {
        'kd-t1': (fixed, 1.0, kd, None), 'kd-t2': (fixed, 2.0, kd, None),
        'kd-t4': (fixed, 4.0, kd, None),
        'ctkd-global': ('GlobalTemperature', None, kd, None),
        'ctkd-instance': ('InstanceTemperature', None, kd, None),
        'rlkd': ('RLTemperature', None, kd, None),
        'dkd': (fixed, 1.0, 'DKDLoss', None),
        'kd-fgbg': (fixed, 1.0, kd, 2.0)}


@pytest.mark.parametrize('init', plans.ABLATION_INITS)
def test_ablation_variants_are_their_config_files(init):
    """Default ablation settings: every variant's run is its file's config."""
    args = argparse.Namespace(
        teacher_ckpt=_stage_checkpoint('teacher', 20), pretrain_epochs=0,
        runs=None, seeds=[1], variants=list(ablation.VARIANTS), epochs=12,
        data_root='data/shapes', dev_root='data/shapes_dev', work_dir=None,
        out='docs', experiment_work_dir=WORK)
    for key in ('data_root', 'dev_root', 'teacher_ckpt'):  # resolve() does it
        setattr(args, key, osp.join(REPO, getattr(args, key)))
    args.size, args.batch_size, args.num_train, args.cfg_options = \
        160, 0, 128, None
    backbone = _stage_checkpoint('pretrain', 12) if init == 'pretrained' \
        else None
    for variant in ablation.VARIANTS:
        cfg = ablation.variant_config(variant, 1, args, backbone)
        assert cfg.to_dict() == _file_config(
            plans.ablation_config(variant, init), 1), variant


def test_load_config_adapts_only_what_differs(tmp_path):
    """Settings equal to the file's keep its spelling; other ones replace it."""
    path = plans.table_config('ctkd-global')
    same = plans.load_config(path, 0, data_root=osp.join(REPO, 'data/shapes'),
                             teacher_ckpt=_stage_checkpoint('teacher', 20))
    assert same.to_dict() == _file_config(path, 0)
    dev = str(tmp_path / 'dev')
    cfg = plans.load_config(path, 3, data_root=str(tmp_path / 'train'),
                            val_root=dev, epochs=6, num_train=64,
                            teacher_ckpt='t.pth', backbone=None)
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path / 'train') + '/'
    assert cfg.val_dataloader.dataset.data_root == dev + '/'
    assert cfg.test_evaluator.ann_file == osp.join(dev, 'annotations', 'val.json')
    assert cfg.model.teacher_ckpt == 't.pth'
    assert cfg.model.backbone.init_cfg is None
    # 6 epochs of 8 iterations: warm-up cut to 12, curriculum over 2 epochs
    assert [s.get('end') for s in cfg.param_scheduler] == [12, 6]
    hook, = cfg.custom_hooks
    assert (hook.loops, hook.by_epoch) == (2, True)
    with pytest.raises(ValueError, match='num_train'):
        plans.load_config(path, 0, epochs=6)


def test_cache_key_follows_the_weights_a_run_reads(tmp_path):
    """A retrained teacher (same path, other content) retrains its students; so
    do another backbone and another seed; rewriting the same bytes does not."""
    teacher, backbone = tmp_path / 'teacher.pth', tmp_path / 'backbone.pth'
    teacher.write_bytes(b'teacher v1')
    backbone.write_bytes(b'backbone v1')

    def cfg(seed=0):
        return plans.load_config(plans.table_config('kd-t4'), seed,
                                 teacher_ckpt=str(teacher),
                                 backbone=str(backbone))

    assert weight_inputs(cfg()) == {
        'model.teacher_ckpt': str(teacher),
        'model.backbone.init_cfg.checkpoint': str(backbone)}
    key = cache_key(cfg())
    assert key['inputs']['model.teacher_ckpt']['digest'] == \
        file_digest(str(teacher)) is not None
    work = tmp_path / 'run'
    work.mkdir()
    (work / 'epoch_12.pth').write_bytes(b'')
    (work / 'done.json').write_text(json.dumps(dict(
        key=key['key'], checkpoint=str(work / 'epoch_12.pth'))))
    assert is_cached(cfg(), str(work))

    teacher.write_bytes(b'teacher v1')  # same content, new mtime
    os.utime(teacher, ns=(1, 1))
    assert cache_key(cfg())['key'] == key['key']
    assert cache_key(cfg(seed=1))['key'] != key['key']
    teacher.write_bytes(b'teacher v2')
    assert cache_key(cfg())['key'] != key['key']
    assert not is_cached(cfg(), str(work))
    teacher.write_bytes(b'teacher v1')
    backbone.write_bytes(b'backbone v2')
    assert cache_key(cfg())['key'] != key['key']


def test_paired_deltas_by_hand():
    runs = [dict(method=m, seed=s, bbox_mAP=v, bbox_mAP_50=v, bbox_mAP_75=v,
                 seconds=1.0)
            for m, s, v in [('none', 0, 0.20), ('none', 1, 0.30),
                            ('kd', 0, 0.25), ('kd', 1, 0.25), ('kd', 2, 0.9),
                            ('ctkd', 1, 0.40)]]
    runs.append(dict(method='none', seed=2, error='failed'))
    d = paired_deltas(runs, 'none')
    assert list(d) == ['kd', 'ctkd']  # seed 2 of none failed: kd has 2 pairs
    assert d['kd']['n'] == 2 and d['kd']['seeds'] == [0, 1]
    assert d['kd']['bbox_mAP']['mean'] == pytest.approx(0.0)
    assert d['kd']['bbox_mAP']['std'] == pytest.approx(0.05 * 2 ** 0.5)  # +-0.05
    assert d['ctkd']['bbox_mAP'] == pytest.approx(dict(mean=0.1, std=0.0))
    assert aggregate(runs)['none']['n'] == 2


def test_job_pool_threads_and_order():
    """A run training alone gets all slots' threads; results in task order; a
    failed task raises after the others ended."""
    assert JobPool(jobs=2, threads=1).alone_threads == 2
    assert JobPool(jobs=3, threads=2).alone_threads == 6
    assert JobPool(jobs=1, threads=4).alone_threads == 4
    assert JobPool(jobs=2, threads=0).alone_threads == 0  # inherited
    env = thread_env(3)
    assert env['OMP_NUM_THREADS'] == env['MKL_NUM_THREADS'] == '3'
    assert thread_env(0).get('OMP_NUM_THREADS') == \
        os.environ.get('OMP_NUM_THREADS')
    assert JobPool(jobs=2).run([lambda i=i: i * i for i in range(5)]) == \
        [0, 1, 4, 9, 16]
    done = []

    def fail():
        raise RuntimeError('boom')

    with pytest.raises(RuntimeError, match='boom'):
        JobPool(jobs=2).run([fail] + [lambda i=i: done.append(i)
                                      for i in range(3)])
    assert sorted(done) == [0, 1, 2]
