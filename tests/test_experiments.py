"""ctkd_det.experiments without training: the tables (shapes, glyphs) and the
ablation are plans of config files (a file's config is the plan's run), the
glyphs table's dev-split evaluation, the cache key follows the weights a run
reads, result tables and their paired differences, the job pool's thread
counts."""
import argparse
import copy
import functools
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config

from ctkd_det.apis.settings import rescale_schedule, set_data_root
from ctkd_det.datasets.glyphs import set_eval_split
from ctkd_det.experiments import ablation, plans, table
from ctkd_det.experiments.pool import JobPool
from ctkd_det.experiments.results import (aggregate, paired_deltas,
                                          twin_deltas, write_results)
from ctkd_det.experiments.runs import (REPO, cache_key, config_digest,
                                       file_digest, is_cached, thread_env,
                                       weight_inputs)

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


@functools.lru_cache(maxsize=None)
def _read_config(path) -> Config:
    """A config file, parsed once (the tests compare many configs to it)."""
    return Config.fromfile(path)


def _file_config(path, seed=None):
    """``tools/train.py FILE --cfg-options randomness.seed=SEED``'s config."""
    cfg = copy.deepcopy(_read_config(path))
    if seed is not None:
        cfg.merge_from_dict({'randomness.seed': seed})
    return cfg.to_dict()


def _stage_checkpoint(stage: str, epochs: int, bench: str = 'shapes') -> str:
    """Where the table's stage run leaves its last checkpoint."""
    return osp.join(REPO, plans.benchmark(bench).full['work_dir'], stage,
                    f'epoch_{epochs}.pth')


@pytest.mark.parametrize('bench', list(plans.BENCHMARKS))
def test_table_cells_are_their_config_files(bench):
    """The default table trains exactly the files (seed set on the command line):
    `python tools/train.py configs/<bench>/table/<m>.py --cfg-options
    randomness.seed=S` reproduces a cell."""
    args = _table_args() if bench == 'shapes' else _table_args(benchmark=bench)
    b = plans.benchmark(bench)
    assert args.methods == list(b.methods)
    assert args.data_root == osp.join(REPO, b.data_root)
    assert table.teacher_config(args).to_dict() == \
        _file_config(plans.table_config('teacher', bench), 0)
    assert table.pretrain_config(args).to_dict() == \
        _file_config(plans.table_config('pretrain', bench), 0)
    teacher = _stage_checkpoint('teacher', args.teacher_epochs, bench)
    backbone = _stage_checkpoint('pretrain', args.pretrain_epochs, bench)
    for method in args.methods:
        for seed in args.seeds:
            cfg = table.student_config(method, seed, args, teacher, backbone)
            assert cfg.to_dict() == _file_config(
                plans.table_config(method, bench), seed), (method, seed)


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
        'kd-fgbg': (fixed, 1.0, kd, 2.0),
        'ctkd-global-fgbg': ('GlobalTemperature', None, kd, 2.0)}


GLYPHS = plans.benchmark('glyphs')
GLYPH_CONFIGS = osp.join(REPO, 'configs', 'glyphs')


def _glyph_config(name: str) -> Config:
    """A config of configs/glyphs/: a method leaf (``kd-t1`` ...), ``student``
    or ``teacher``."""
    files = dict(student='faster-rcnn_r18_fpn_glyphs.py',
                 teacher='faster-rcnn_r50_fpn_glyphs.py')
    return Config.fromfile(osp.join(GLYPH_CONFIGS, files.get(
        name, f'faster-rcnn_r50-to-r18_fpn_{name}_cpu_glyphs.py')))


def test_glyph_table_cells_are_the_glyph_configs_with_the_table_checkpoints():
    """Each glyphs cell is its glyphs config (the method's leaf; the student
    alone for ``none``) with the table's checkpoints and a weights-only
    checkpoint, nothing else; the teacher is the glyphs teacher config, the
    pretraining the student on the separate set. The checkpoints are where the
    table's stage runs of the full setting leave them."""
    full = GLYPHS.full
    assert (full['teacher_epochs'], full['pretrain_epochs'], full['epochs'],
            full['seeds']) == (24, 12, 6, [0, 1, 2])
    teacher_ckpt = 'work_dirs/glyphs_table/teacher/epoch_24.pth'
    backbone_ckpt = 'work_dirs/glyphs_table/pretrain/epoch_12.pth'
    assert osp.join(REPO, teacher_ckpt) == \
        _stage_checkpoint('teacher', full['teacher_epochs'], 'glyphs')
    assert osp.join(REPO, backbone_ckpt) == \
        _stage_checkpoint('pretrain', full['pretrain_epochs'], 'glyphs')
    for method in GLYPHS.all_methods:
        want = _glyph_config('student' if method == 'none' else method)
        want.model.backbone.init_cfg = dict(
            type='Pretrained', prefix='backbone.', checkpoint=backbone_ckpt)
        if method != 'none':
            assert want.model.teacher_ckpt != teacher_ckpt  # the file sets it
            want.model.teacher_ckpt = teacher_ckpt
        want.default_hooks.checkpoint.save_optimizer = False
        # the tool's schedule (6 of the leaves' 12 epochs, 32 iterations
        # each) is written in the cell: tools/train.py CELL runs the table's
        rescale_schedule(want, full['epochs'], 256 // 8)
        cell = Config.fromfile(GLYPHS.config(method))
        assert rescale_schedule(copy.deepcopy(cell), full['epochs'],
                                256 // 8).to_dict() == cell.to_dict()
        cell = cell.to_dict()
        for helper in [k for k in cell if k.startswith('table_')]:
            cell.pop(helper)  # _base_/table_checkpoints, _base_/table_schedule
        assert cell == want.to_dict(), method
    # the teacher config at 24 epochs instead of its 12, rescaled as the tool
    teacher = _glyph_config('teacher')
    rescale_schedule(teacher, full['teacher_epochs'], 256 // 8)
    teacher.default_hooks.checkpoint.save_optimizer = False
    assert Config.fromfile(GLYPHS.config('teacher')).to_dict() == \
        teacher.to_dict()
    assert teacher.train_cfg.max_epochs == full['teacher_epochs']
    pre = _glyph_config('student')
    set_data_root(pre, 'data/glyphs_pretrain')
    pre.default_hooks.checkpoint.save_optimizer = False
    assert Config.fromfile(GLYPHS.config('pretrain')).to_dict() == \
        pre.to_dict()


def test_glyph_table_methods():
    """The glyphs cells' temperatures and losses, in table order."""
    fixed, kd, dkd = 'FixedTemperature', 'KDLoss', 'DKDLoss'
    temps = {}
    assert GLYPHS.methods == ('none', 'kd-t1', 'kd-t4', 'kd-fgbg', 'dkd',
                              'ctkd-global', 'ctkd-instance',
                              'ctkd-global-dkd', 'ctkd-instance-dkd',
                              'ctkd-global-fgbg', 'rlkd-fgbg')
    assert GLYPHS.optional_methods == ('rlkd-dkd', 'kd-fgbg-t21')
    for method in GLYPHS.all_methods[1:]:
        model = Config.fromfile(GLYPHS.config(method)).model
        temps[method] = (model.temperature.type,
                         model.temperature.get('value'),
                         model.distill_loss.type,
                         model.distill_loss.get('fg_weight'))
    assert list(temps) == ['kd-t1', 'kd-t4', 'kd-fgbg', 'dkd', 'ctkd-global',
                           'ctkd-instance', 'ctkd-global-dkd',
                           'ctkd-instance-dkd', 'ctkd-global-fgbg',
                           'rlkd-fgbg', 'rlkd-dkd', 'kd-fgbg-t21']
    assert temps == {
        'kd-t1': (fixed, 1.0, kd, None), 'kd-t4': (fixed, 4.0, kd, None),
        'kd-fgbg': (fixed, 1.0, kd, 2.0), 'dkd': (fixed, 1.0, dkd, None),
        'ctkd-global': ('GlobalTemperature', None, kd, None),
        'ctkd-instance': ('InstanceTemperature', None, kd, None),
        'ctkd-global-dkd': ('GlobalTemperature', None, dkd, None),
        'ctkd-instance-dkd': ('InstanceTemperature', None, dkd, None),
        'rlkd-dkd': ('RLTemperature', None, dkd, None),
        'ctkd-global-fgbg': ('GlobalTemperature', None, kd, 2.0),
        'rlkd-fgbg': ('RLTemperature', None, kd, 2.0),
        'kd-fgbg-t21': (fixed, 21.0, kd, 2.0)}
    for method in ('rlkd-dkd', 'rlkd-fgbg'):
        rl = Config.fromfile(GLYPHS.config(method)).model.temperature
        assert rl.warmup_temperature == 1.0  # the twin's fixed T
    # the global T's start per loss (the dev split's choice): the authors'
    # θ0 = 1 on KD losses, θ0 = -4 on DKD
    assert {m: Config.fromfile(GLYPHS.config(m)).model.temperature.init_value
            for m in ('ctkd-global', 'ctkd-global-fgbg', 'ctkd-global-dkd')} \
        == {'ctkd-global': 1.0, 'ctkd-global-fgbg': 1.0,
            'ctkd-global-dkd': -4.0}
    none = Config.fromfile(GLYPHS.config('none')).model
    assert none.type == 'FasterRCNN' and 'temperature' not in none


@pytest.mark.parametrize('bench', list(plans.BENCHMARKS))
def test_twins_are_the_same_method_at_a_fixed_temperature(bench):
    """A twin differs from its method in the temperature only: same loss, same
    everything else but the temperature's module and the curriculum."""
    b = plans.benchmark(bench)
    assert b.twins == {
        'shapes': {'ctkd-global': 'kd-t4', 'ctkd-instance': 'kd-t4',
                   'rlkd': 'kd-t4', 'ctkd-global-fgbg': 'kd-fgbg'},
        'glyphs': {'ctkd-global': 'kd-t1', 'ctkd-instance': 'kd-t1',
                   'ctkd-global-dkd': 'dkd', 'ctkd-instance-dkd': 'dkd',
                   'rlkd-dkd': 'dkd', 'ctkd-global-fgbg': 'kd-fgbg',
                   'rlkd-fgbg': 'kd-fgbg'},
    }[bench]
    for method, twin in b.twins.items():
        assert {method, twin} <= set(b.all_methods)
        m, t = (Config.fromfile(b.config(x)).model for x in (method, twin))
        assert t.temperature.type == 'FixedTemperature'
        assert m.temperature.type != 'FixedTemperature'
        assert m.distill_loss == t.distill_loss, (method, twin)
        for key in ('backbone', 'neck', 'rpn_head', 'roi_head',
                    'teacher_config', 'teacher_ckpt'):
            assert m[key] == t[key], (method, key)


def _eval_keys(cfg: Config) -> dict:
    """What decides the split a config is evaluated on."""
    return dict(
        {f'{k}.ann_file': cfg[k].dataset.ann_file
         for k in ('val_dataloader', 'test_dataloader')},
        **{f'{k}.img': cfg[k].dataset.data_prefix.img
           for k in ('val_dataloader', 'test_dataloader')},
        **{f'{k}.eval': cfg[k].ann_file
           for k in ('val_evaluator', 'test_evaluator')})


def test_glyphs_eval_split_dev_evaluates_every_run_on_dev(tmp_path):
    """``--eval-split dev``: every run of the table (teacher, pretraining,
    cells) evaluates on the dev split of its own set and changes nothing
    else; its default work and output dirs are others than the val table's,
    and the runs' cache keys differ, so the val table is never touched."""
    val = _table_args(benchmark='glyphs')
    dev = _table_args(benchmark='glyphs', eval_split='dev')
    assert (val.work_dir, val.out) == (
        osp.join(REPO, 'work_dirs/glyphs_table'),
        osp.join(REPO, 'docs/glyphs'))
    assert (dev.work_dir, dev.out) == (
        osp.join(REPO, 'work_dirs/glyphs_table_dev'),
        osp.join(REPO, 'docs/glyphs/dev'))
    assert dev.data_root == val.data_root == osp.join(REPO, 'data/glyphs')
    quick = _table_args(benchmark='glyphs', eval_split='dev', quick=True)
    assert (quick.work_dir, quick.out) == (
        osp.join(REPO, 'work_dirs/glyphs_table_quick_dev'),
        osp.join(REPO, 'docs/glyphs/quick/dev'))
    mine = _table_args(benchmark='glyphs', eval_split='dev',
                       work_dir=str(tmp_path / 'w'), out=str(tmp_path / 'o'))
    assert (mine.work_dir, mine.out) == (str(tmp_path / 'w'),
                                         str(tmp_path / 'o'))

    teacher = _stage_checkpoint('teacher', 12, 'glyphs')
    backbone = _stage_checkpoint('pretrain', 12, 'glyphs')
    # the stage runs and a student cell of each kind (all go through the
    # same table._load)
    runs = {'teacher': table.teacher_config, 'pretrain': table.pretrain_config}
    runs.update({m: lambda a, m=m: table.student_config(m, 1, a, teacher,
                                                        backbone)
                 for m in ('none', 'ctkd-instance-dkd')})
    for name, make in runs.items():
        v, d = make(val), make(dev)
        if name == 'ctkd-instance-dkd':
            assert cache_key(d)['key'] != cache_key(v)['key']
        root = 'data/glyphs_pretrain' if name == 'pretrain' else 'data/glyphs'
        for cfg, split in ((v, 'val'), (d, 'dev')):
            assert _eval_keys(cfg) == {
                'val_dataloader.ann_file': f'annotations/{split}.json',
                'test_dataloader.ann_file': f'annotations/{split}.json',
                'val_dataloader.img': f'{split}/',
                'test_dataloader.img': f'{split}/',
                'val_evaluator.eval': f'{root}/annotations/{split}.json',
                'test_evaluator.eval': f'{root}/annotations/{split}.json',
            }, (name, split)
        assert d.train_dataloader.to_dict() == v.train_dataloader.to_dict()
        assert d.train_dataloader.dataset.ann_file == 'annotations/train.json'
        set_eval_split(d, 'val')  # nothing else differs
        assert d.to_dict() == v.to_dict(), name


def test_shapes_has_no_dev_split():
    with pytest.raises(ValueError, match='the shapes set has no dev split'):
        _table_args(eval_split='dev')
    with pytest.raises(ValueError, match='--num-dev: the shapes set has no '):
        _table_args(num_dev=8)
    with pytest.raises(ValueError, match=r"unknown methods \['rlkd'\] for "
                       'glyphs'):
        _table_args(benchmark='glyphs', methods=['rlkd'])
    with pytest.raises(ValueError, match="unknown benchmark 'coco'"):
        _table_args(benchmark='coco')


def test_glyph_table_data_and_pretraining_set(tmp_path):
    """The glyphs table's set (generator seed 0, its three splits) and the
    pretraining's separate set (seed 2; training split as large, the others a
    quarter, at least 8); other sizes get their own default data root."""
    assert _table_args(benchmark='glyphs', num_train=4, num_dev=2, num_val=3,
                       size=96).data_root == \
        osp.join(REPO, 'data/glyphs_4x2x3_96px')
    assert _table_args(num_train=4, num_val=3, size=96).data_root == \
        osp.join(REPO, 'data/shapes_4x3_96px')
    args = _table_args(benchmark='glyphs', num_train=4, num_dev=2, num_val=3,
                       size=64, data_root=str(tmp_path / 'g'))
    info = table.make_data(args)
    assert info['generated']
    assert [info[k] for k in ('num_train', 'num_dev', 'num_val', 'size',
                              'seed')] == [4, 2, 3, 64, 0]
    assert not table.make_data(args)['generated']  # up to date
    pre = table.make_pretrain_data(args)
    assert table.pretrain_root(args) == str(tmp_path / 'g') + '_pretrain'
    with open(tmp_path / 'g_pretrain' / 'meta.json') as f:
        meta = json.load(f)
    assert [meta[k] for k in ('num_train', 'num_dev', 'num_val', 'size',
                              'seed')] == [4, 8, 8, 64, 2]
    assert pre['seed'] == 2
    first = [(tmp_path / d / 'train' / '000000.png').read_bytes()
             for d in ('g', 'g_pretrain')]
    assert first[0] != first[1]


def test_glyph_table_run_with_fake_trainings(tmp_path, monkeypatch):
    """``table.run`` on glyphs with the training replaced by a stand-in that
    records each config and returns fixed metrics: stage runs first, the
    cells seed-major; every run evaluated on dev (``eval_split``); students
    read the teacher's and the pretraining's checkpoints; results.json/.md
    hold the paired differences to ``none`` and to each method's twin."""
    base = {'none': 0.30, 'kd-t1': 0.32, 'dkd': 0.31, 'ctkd-global': 0.35,
            'ctkd-global-dkd': 0.28}
    trained = []

    def fake_train(cfg, work_dir, name, log=print, threads=0):
        trained.append((name, cfg))
        method, _, seed = name.partition('/seed')
        v = base[method] + 0.01 * int(seed) if seed else 0.5
        return dict(metrics=dict(bbox_mAP=v, bbox_mAP_50=2 * v,
                                 bbox_mAP_75=v / 2),
                    seconds=60.0, cached=False,
                    checkpoint=osp.join(work_dir, 'epoch_1.pth'))

    monkeypatch.setattr(table, 'train_cached', fake_train)
    monkeypatch.setattr(table, 'is_cached', lambda cfg, work_dir: False)
    args = _table_args(
        benchmark='glyphs', eval_split='dev', methods=list(base),
        seeds=[0, 1], epochs=1, teacher_epochs=1, pretrain_epochs=1,
        num_train=4, num_dev=2, num_val=2, size=64, jobs=2,
        data_root=str(tmp_path / 'data'), work_dir=str(tmp_path / 'work'),
        out=str(tmp_path / 'out'))
    result = table.run(args, log=lambda m: None)

    names = [n for n, _ in trained]
    assert names[:2] == ['teacher', 'backbone pretraining']
    assert sorted(names[2:]) == sorted(f'{m}/seed{s}' for s in (0, 1)
                                       for m in base)
    for name, cfg in trained:
        assert cfg.val_evaluator.ann_file.endswith('annotations/dev.json')
        assert cfg.val_dataloader.dataset.data_prefix.img == 'dev/'
        if '/seed' in name:
            assert cfg.model.backbone.init_cfg.checkpoint == \
                str(tmp_path / 'work' / 'pretrain' / 'epoch_1.pth')
            if not name.startswith('none/'):
                assert cfg.model.teacher_ckpt == \
                    str(tmp_path / 'work' / 'teacher' / 'epoch_1.pth')
    assert result['failed'] == []
    with open(tmp_path / 'out' / 'results.json') as f:
        saved = json.load(f)
    assert [(r['method'], r['seed']) for r in saved['runs']] == \
        [(m, s) for s in (0, 1) for m in base]  # the plan's order
    s = saved['settings']
    assert (s['benchmark'], s['eval_split'], s['num_train'], s['num_dev'],
            s['num_val']) == ('glyphs', 'dev', 4, 2, 2)
    assert saved['twins'] == {'ctkd-global': 'kd-t1',
                              'ctkd-global-dkd': 'dkd'}
    d = saved['twin_deltas']
    assert list(d) == ['ctkd-global', 'ctkd-global-dkd']
    assert d['ctkd-global']['twin'] == 'kd-t1' and d['ctkd-global']['n'] == 2
    assert d['ctkd-global']['bbox_mAP'] == pytest.approx(
        dict(mean=0.03, std=0.0))
    assert d['ctkd-global-dkd']['bbox_mAP_50'] == pytest.approx(
        dict(mean=-0.06, std=0.0))
    assert saved['deltas']['ctkd-global']['bbox_mAP_75'] == pytest.approx(
        dict(mean=0.025, std=0.0))
    md = (tmp_path / 'out' / 'results.md').read_text()
    assert md.startswith('# Glyphs: KD vs CTKD (R50-FPN teacher -> R18-FPN '
                         'student) — evaluated on the dev split\n')
    assert 'Data: generated glyphs, 4 train / 2 dev / 2 val images of 64 px' \
        in md
    assert 'COCO bbox AP on the dev set' in md
    assert 'generator seed 2' in md
    assert '| method | twin | pairs | ΔmAP | ΔmAP50 | ΔmAP75 |' in md
    assert '| ctkd-global | kd-t1 | 2 | +3.0 ± 0.0 | +6.0 ± 0.0 | ' \
        '+1.5 ± 0.0 |' in md
    assert '| ctkd-global-dkd | dkd | 2 | -3.0 ± 0.0 | -6.0 ± 0.0 | ' \
        '-1.5 ± 0.0 |' in md


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


def test_cache_key_ignores_speed_only_settings():
    """Turning the teacher feature cache on or resizing it keeps a finished
    run (its steps are the same: tests/test_teacher_cache.py); any other model
    change, and the cache key's own config digest, still tell runs apart."""
    cfg = plans.load_config(plans.table_config('kd-t4'), 0)
    assert 'teacher_cache_mb' not in cfg.model
    plain = config_digest(cfg)
    text = cfg.pretty_text
    for mb in (0, 64, 1024):
        cached = copy.deepcopy(cfg)
        cached.model.teacher_cache_mb = mb
        assert config_digest(cached) == plain
        assert cached.model.teacher_cache_mb == mb  # the config is not changed
    assert cfg.pretty_text == text
    other = copy.deepcopy(cfg)
    other.model.teacher_cache_mb = 64
    other.model.temperature.value = 2.0
    assert config_digest(other) != plain


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


def test_twin_deltas_by_hand():
    """Each learned temperature minus its fixed-T twin, per seed where both
    finished; methods without a twin or without a pair are left out."""
    runs = [dict(method=m, seed=s, bbox_mAP=v, bbox_mAP_50=2 * v,
                 bbox_mAP_75=v / 2, seconds=1.0)
            for m, s, v in [('none', 0, 0.10), ('kd-t1', 0, 0.20),
                            ('kd-t1', 1, 0.30), ('kd-t1', 2, 0.25),
                            ('ctkd-global', 0, 0.25), ('ctkd-global', 1, 0.30),
                            ('dkd', 0, 0.30), ('dkd', 1, 0.30),
                            ('ctkd-global-dkd', 1, 0.40),
                            ('ctkd-instance-dkd', 2, 0.40)]]
    runs.append(dict(method='ctkd-instance', seed=0, error='failed'))
    twins = plans.benchmark('glyphs').twins
    d = twin_deltas(runs, twins)
    # ctkd-instance failed; ctkd-instance-dkd's seed 2 has no dkd run
    assert list(d) == ['ctkd-global', 'ctkd-global-dkd']
    g = d['ctkd-global']
    assert (g['twin'], g['n'], g['seeds']) == ('kd-t1', 2, [0, 1])
    assert g['bbox_mAP'] == pytest.approx(dict(mean=0.025,
                                               std=0.05 / 2 ** 0.5))
    assert g['bbox_mAP_50'] == pytest.approx(dict(mean=0.05,
                                                  std=0.1 / 2 ** 0.5))
    assert g['bbox_mAP_75']['mean'] == pytest.approx(0.0125)
    dd = d['ctkd-global-dkd']
    assert (dd['twin'], dd['n'], dd['seeds']) == ('dkd', 1, [1])
    assert dd['bbox_mAP'] == pytest.approx(dict(mean=0.1, std=0.0))
    # the differences to the student are another table, same pairing
    assert paired_deltas(runs)['kd-t1']['seeds'] == [0]


def test_results_md_names_benchmark_split_and_twins(tmp_path):
    """results.md: the shapes table reads as before (title, val split); a
    glyphs dev table says so and lists the twin differences."""
    def result(bench, split, twins):
        counts = dict(shapes=dict(num_train=128, num_val=64),
                      glyphs=dict(num_train=256, num_dev=64,
                                  num_val=128))[bench]
        return dict(command='c', settings=dict(
            benchmark=bench, eval_split=split, size=160, data_root='d',
            teacher_epochs=1, epochs=1, seeds=[0], host='h', **counts),
            teacher=None, runs=[], methods={}, total=1, finished=1,
            reference='none', deltas={}, twin_deltas=twins)
    write_results(str(tmp_path / 's'), result('shapes', 'val', {}))
    md = (tmp_path / 's' / 'results.md').read_text().splitlines()
    assert md[0] == '# Shapes: KD vs CTKD (R50-FPN teacher -> R18-FPN student)'
    assert md[4].startswith('Data: generated shapes, 128 train / 64 val images '
                            'of 160 px')
    assert 'COCO bbox AP on the val set (x100)' in md[4]
    assert not any('twin' in line for line in md)
    stat = dict(mean=-0.01, std=0.02)
    write_results(str(tmp_path / 'g'), result('glyphs', 'dev', {
        'ctkd-instance-dkd': dict(twin='dkd', n=3, seeds=[0, 1, 2],
                                  bbox_mAP=stat, bbox_mAP_50=stat,
                                  bbox_mAP_75=stat)}))
    md = (tmp_path / 'g' / 'results.md').read_text().splitlines()
    assert md[0] == ('# Glyphs: KD vs CTKD (R50-FPN teacher -> R18-FPN '
                     'student) — evaluated on the dev split')
    assert md[4].startswith('Data: generated glyphs, 256 train / 64 dev / '
                            '128 val images')
    assert 'COCO bbox AP on the dev set (x100)' in md[4]
    assert '| ctkd-instance-dkd | dkd | 3 | -1.0 ± 2.0 | -1.0 ± 2.0 | ' \
        '-1.0 ± 2.0 |' in md


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
