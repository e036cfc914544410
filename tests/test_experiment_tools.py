"""tools/experiment.py, tools/kd_ablation.py and tools/plot_curves.py on tiny settings.

One tiny shapes experiment (teacher + 2 methods, 1 seed, 1 epoch of 3 iterations
on 6 images of 64 px) is trained once per module through the real CLI; its work
dir also feeds the plot tests. The library (``ctkd_det.experiments``) is
imported; the thin CLIs run as ``python tools/<tool>.py``, except for the
argument parsing of ``tools/experiment.py`` (``--benchmark``, ``--eval-split``),
tested in-process. The glyphs table is covered without training in
test_experiments.py (a tiny real glyphs table through the CLI costs ~80 s).
"""
import importlib.util
import json
import os.path as osp
import struct

import pytest

from ctkd_det.experiments import ablation, curves
from ctkd_det.experiments.runs import file_digest

from conftest import REPO, TOOLS, run_tool

METHODS = ['none', 'ctkd-instance']


def _experiment_args(root):
    """``tools/experiment.py``'s arguments for the tiny experiment in ``root``."""
    return [
        '--methods', *METHODS, '--seeds', '0', '--epochs', '1',
        '--teacher-epochs', '1', '--pretrain-epochs', '1',
        '--num-train', '6', '--num-val', '2',
        '--size', '64', '--batch-size', '2', '--threads', '1', '--jobs', '2',
        '--work-dir', str(root / 'work'), '--out', str(root / 'out'),
        '--data-root', str(root / 'data'),
        # 3 iterations from scratch: keep every box so COCO eval has detections;
        # log every iteration, unsmoothed
        '--cfg-options', 'model.test_cfg.rcnn.score_thr=0.0',
        'default_hooks.logger.interval=1', 'log_processor.window_size=1']


@pytest.fixture(scope='module')
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp('experiment')
    proc = run_tool('experiment', *_experiment_args(root), timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    with open(root / 'out' / 'results.json') as f:
        result = json.load(f)
    return dict(root=root, stdout=proc.stdout, result=result)


def _png_size(path):
    with open(path, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    assert head[12:16] == b'IHDR'
    return struct.unpack('>II', head[16:24])


# -- experiment ------------------------------------------------------------------
def test_results_json_shape(experiment):
    res = experiment['result']
    assert res['total'] == res['finished'] == 1 + len(METHODS)
    assert res['settings']['seeds'] == [0]
    assert res['settings']['methods'] == METHODS
    assert (res['settings']['benchmark'], res['settings']['eval_split']) == \
        ('shapes', 'val')
    assert 'num_dev' not in res['settings']  # shapes has no dev split
    # ctkd-instance's twin, kd-t4, did not run: no twin difference
    assert res['twins'] == {'ctkd-instance': 'kd-t4'}
    assert res['twin_deltas'] == {}
    metric_keys = {'bbox_mAP', 'bbox_mAP_50', 'bbox_mAP_75'}

    teacher = res['teacher']
    assert metric_keys <= set(teacher['metrics'])
    assert teacher['seconds'] > 0 and osp.isfile(teacher['checkpoint'])

    assert [(r['method'], r['seed']) for r in res['runs']] == \
        [(m, 0) for m in METHODS]
    for r in res['runs']:
        assert 'error' not in r
        assert metric_keys <= set(r)
        assert all(-1.0 <= r[k] <= 1.0 for k in metric_keys)
        assert r['seconds'] > 0 and r['cached'] is False
        assert osp.isfile(osp.join(r['work_dir'], 'done.json'))

    assert list(res['methods']) == METHODS
    for m, agg in res['methods'].items():
        assert agg['n'] == 1 and agg['seeds'] == [0]
        for k in metric_keys | {'seconds'}:
            assert set(agg[k]) == {'mean', 'std'}
            assert agg[k]['std'] == 0.0  # one seed
        run = next(r for r in res['runs'] if r['method'] == m)
        assert agg['bbox_mAP']['mean'] == pytest.approx(run['bbox_mAP'])


def test_runs_follow_the_settings(experiment):
    """Seed, teacher and the rescaled curriculum reach the dumped configs."""
    from mmengine.config import Config
    res = experiment['result']
    ctkd = next(r for r in res['runs'] if r['method'] == 'ctkd-instance')
    cfg = Config.fromfile(osp.join(ctkd['work_dir'], 'config.py'))
    assert cfg.randomness.seed == 0
    assert cfg.model.teacher_ckpt == res['teacher']['checkpoint']
    assert cfg.train_cfg.max_epochs == 1
    assert cfg.train_dataloader.dataset.data_root.startswith(
        str(experiment['root'] / 'data'))
    # a third of a 3-iteration epoch: per-iteration curriculum of 1 iteration
    hook, = [h for h in cfg.custom_hooks
             if h['type'] == 'CurriculumTemperatureHook']
    assert hook['by_epoch'] is False and hook['loops'] == 1
    # the teacher's identity is part of the run's cache key: its content digest
    with open(osp.join(ctkd['work_dir'], 'done.json')) as f:
        inputs = json.load(f)['inputs']
    assert inputs['model.teacher_ckpt'] == dict(
        path=res['teacher']['checkpoint'],
        digest=file_digest(res['teacher']['checkpoint']))


def test_students_start_from_the_pretrained_backbone(experiment):
    """Every student (distilled or not) initialises its backbone, and only its
    backbone, from the pretraining run, trained on a separate generated set."""
    import torch
    from mmengine.config import Config
    res = experiment['result']
    pre = res['pretrain']
    assert res['settings']['pretrain_epochs'] == 1
    assert osp.isfile(pre['checkpoint'])
    data = str(experiment['root'] / 'data')
    assert pre['data_root'] == data + '_pretrain'
    with open(osp.join(pre['data_root'], 'meta.json')) as f:
        assert json.load(f)['seed'] == 2
    pre_cfg = Config.fromfile(osp.join(pre['work_dir'], 'config.py'))
    assert pre_cfg.train_dataloader.dataset.data_root.rstrip('/') == \
        pre['data_root']
    for r in res['runs']:
        cfg = Config.fromfile(osp.join(r['work_dir'], 'config.py'))
        assert cfg.model.backbone.init_cfg == dict(
            type='Pretrained', checkpoint=pre['checkpoint'], prefix='backbone.')
        assert cfg.model.neck.get('init_cfg') is None or \
            cfg.model.neck.init_cfg.get('type') != 'Pretrained'
        with open(osp.join(r['work_dir'], 'done.json')) as f:
            inputs = json.load(f)['inputs']
        assert inputs['model.backbone.init_cfg.checkpoint']['digest'] == \
            file_digest(pre['checkpoint'])
    # mmengine's PretrainedInit really loaded it (logged at init)
    for r in res['runs']:
        with open(osp.join(r['work_dir'], 'train.log')) as f:
            log = f.read()
        assert f'load backbone. in model from: {pre["checkpoint"]}' in log


def test_results_md_has_tables(experiment):
    md = (experiment['root'] / 'out' / 'results.md').read_text()
    assert md.startswith('# Shapes: KD vs CTKD (R50-FPN teacher -> R18-FPN '
                         'student)\n')
    assert 'COCO bbox AP on the val set' in md
    assert '| method | runs | mAP | mAP50 | mAP75 | wall time (min) |' in md
    assert '| teacher (R50-FPN) | 1 |' in md
    for m in METHODS:
        assert f'| {m} | 1 | ' in md  # aggregate row
        assert f'| {m} | 0 | ' in md  # per-run row
    assert '±' in md
    assert '![curves](curves_seed0.png)' in md
    assert 'partial' not in md


def test_progress_lines(experiment):
    out = experiment['stdout']
    for k in range(1, 4):
        assert f'=== run {k}/3' in out
    assert 'ETA' in out
    assert '[ctkd-instance/seed0] done in' in out


def test_rerun_is_cached(experiment):
    """Same command again: nothing is retrained, the table is rewritten."""
    root = experiment['root']
    proc = run_tool('experiment', *_experiment_args(root))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert '0 to train' in proc.stdout
    assert '] training (' not in proc.stdout
    with open(root / 'out' / 'results.json') as f:
        res = json.load(f)
    assert all(r['cached'] for r in res['runs']) and res['teacher']['cached']
    first = experiment['result']['runs']
    assert [r['bbox_mAP'] for r in res['runs']] == [r['bbox_mAP'] for r in first]
    # --jobs 2 trained both methods at once; the table keeps the plan's order
    assert [r['method'] for r in first] == METHODS
    assert experiment['result']['settings']['jobs'] == 2


def _experiment_cli():
    """tools/experiment.py as a module (its argument parsing, in-process)."""
    spec = importlib.util.spec_from_file_location(
        'experiment_cli', osp.join(TOOLS, 'experiment.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_experiment_cli_benchmark_and_eval_split(capsys):
    """``--benchmark`` picks the table (default shapes, as before),
    ``--eval-split dev`` its own dirs; shapes refuses a dev split."""
    cli = _experiment_cli()
    args = cli.parse_args([])
    assert (args.benchmark, args.eval_split, args.num_dev) == \
        ('shapes', 'val', 0)
    assert (args.work_dir, args.out, args.data_root) == (
        osp.join(REPO, 'work_dirs/experiment'), osp.join(REPO, 'docs'),
        osp.join(REPO, 'data/shapes'))
    assert (args.teacher_epochs, args.num_train, args.num_val, args.size) == \
        (20, 128, 64, 160)

    args = cli.parse_args(['--benchmark', 'glyphs', '--jobs', '2'])
    assert args.methods == ['none', 'kd-t1', 'kd-t4', 'kd-fgbg', 'dkd',
                            'ctkd-global', 'ctkd-instance', 'ctkd-global-dkd',
                            'ctkd-instance-dkd', 'ctkd-global-fgbg',
                            'rlkd-fgbg']
    assert (args.teacher_epochs, args.pretrain_epochs, args.epochs,
            args.seeds) == (24, 12, 6, [0, 1, 2])
    assert (args.num_train, args.num_dev, args.num_val, args.size) == \
        (256, 64, 128, 192)
    assert (args.work_dir, args.out, args.data_root, args.threads) == (
        osp.join(REPO, 'work_dirs/glyphs_table'),
        osp.join(REPO, 'docs/glyphs'), osp.join(REPO, 'data/glyphs'), 1)
    # the optional cells run when named
    args = cli.parse_args(['--benchmark', 'glyphs', '--methods', 'none',
                           'rlkd-dkd', 'kd-fgbg-t21'])
    assert args.methods == ['none', 'rlkd-dkd', 'kd-fgbg-t21']

    args = cli.parse_args(['--benchmark', 'glyphs', '--quick',
                           '--eval-split', 'dev'])
    assert args.methods == ['none', 'kd-t1', 'dkd', 'ctkd-global-dkd']
    assert (args.num_train, args.num_dev, args.num_val, args.seeds) == \
        (64, 16, 32, [0])
    assert (args.work_dir, args.out) == (
        osp.join(REPO, 'work_dirs/glyphs_table_quick_dev'),
        osp.join(REPO, 'docs/glyphs/quick/dev'))

    for argv, message in [
            (['--eval-split', 'dev'], 'the shapes set has no dev split'),
            (['--num-dev', '8'], 'the shapes set has no dev split'),
            (['--benchmark', 'glyphs', '--methods', 'rlkd'],
             "unknown methods ['rlkd'] for glyphs"),
            (['--benchmark', 'coco'], "invalid choice: 'coco'")]:
        with pytest.raises(SystemExit) as e:
            cli.parse_args(argv)
        assert e.value.code == 2
        assert message in capsys.readouterr().err, argv


# -- plot_curves -----------------------------------------------------------------
def test_experiment_wrote_curves(experiment):
    res = experiment['result']
    png = res['curves']
    assert osp.basename(png) == 'curves_seed0.png'
    assert osp.getsize(png) > 1000
    _png_size(png)
    # the student without distillation is not plotted
    assert list(res['curves_summary']) == ['ctkd-instance']


def test_plot_curves_from_real_log(experiment, tmp_path):
    res = experiment['result']
    work = {r['method']: r['work_dir'] for r in res['runs']}
    out = str(tmp_path / 'curves.png')
    summary = curves.plot_curves(
        {'instance': work['ctkd-instance'], 'no KD': work['none']}, out)
    assert osp.getsize(out) > 1000
    assert _png_size(out) == tuple(summary['size_px'])
    inst = summary['runs']['instance']
    assert inst['points'] == 3
    assert inst['temperature'] and inst['lambda'] and inst['loss_kd']
    # λ > 0 from iteration 2 moved the MLP: per-RoI temperatures differ
    assert inst['band'], 'no 10-90 % band drawn for the instance-wise run'
    assert not any(summary['runs']['no KD'][k]
                   for k in ('temperature', 'band', 'lambda', 'loss_kd'))
    assert summary['panels'] == {'temperature': ['instance'],
                                 'lambda': ['instance'],
                                 'loss_kd': ['instance']}


def _write_log(work, records):
    d = work / '20260101_000000' / 'vis_data'
    d.mkdir(parents=True)
    with open(d / 'scalars.json', 'w') as f:
        for r in records:
            f.write(json.dumps(r) + '\n')
    return str(work)


def test_plot_curves_band_only_when_temperatures_differ(tmp_path):
    fixed = _write_log(tmp_path / 'kd', [
        dict(iter=i, epoch=1, loss=1.0, loss_kd=0.5 / i, kd_temp=4.0,
             kd_temp_p10=4.0, kd_temp_p90=4.0) for i in range(1, 6)]
        + [{'coco/bbox_mAP': 0.2, 'step': 1}])
    glob = _write_log(tmp_path / 'global', [
        dict(iter=i, epoch=1, loss=1.0, loss_kd=0.4, kd_temp=10 + i,
             kd_temp_p10=10 + i, kd_temp_p90=10 + i, **{'lambda': i / 5})
        for i in range(1, 6)])
    out = str(tmp_path / 'c.png')
    summary = curves.plot_curves({'kd': fixed, 'global': glob}, out)
    assert _png_size(out) == tuple(summary['size_px'])
    assert summary['runs']['kd']['temperature']
    assert not summary['runs']['kd']['band']
    assert not summary['runs']['kd']['lambda']  # fixed T: no λ, no error
    assert not summary['runs']['global']['band']
    assert summary['panels']['lambda'] == ['global']


def test_plot_curves_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='no such work dir'):
        curves.plot_curves({'x': str(tmp_path / 'missing')},
                           str(tmp_path / 'x.png'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='no mmengine scalar log'):
        curves.plot_curves({'x': str(tmp_path / 'empty')},
                           str(tmp_path / 'x.png'))
    plain = _write_log(tmp_path / 'plain', [
        dict(iter=1, epoch=1, loss=1.0, loss_cls=0.5)])
    with pytest.raises(ValueError, match='none of the runs logged'):
        curves.plot_curves({'x': plain}, str(tmp_path / 'x.png'))
    assert not (tmp_path / 'x.png').exists()


def test_plot_curves_cli(tmp_path):
    log = _write_log(tmp_path / 'run', [
        dict(iter=i, loss_kd=1.0, kd_temp=5.0, kd_temp_p10=4.0,
             kd_temp_p90=6.0, **{'lambda': 1.0}) for i in (5, 10)])
    scalars = osp.join(log, '20260101_000000', 'vis_data', 'scalars.json')
    out = str(tmp_path / 'cli.png')
    proc = run_tool('plot_curves', scalars, '--labels', 'inst', '--out', out,
                    timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'inst: 2 points, temperature, band, lambda, loss_kd' in proc.stdout
    _png_size(out)
    proc = run_tool('plot_curves', tmp_path / 'nope', '--out', out,
                    timeout=120)
    assert proc.returncode == 1  # SystemExit with the reason
    assert 'plot_curves:' in proc.stderr and 'no such work dir' in proc.stderr


# -- kd_ablation -----------------------------------------------------------------
def test_ablation_trains_on_table_data_and_evaluates_on_dev(tmp_path):
    """The KD ablation must never see the table's val split: its runs train on the
    table's training images and evaluate on the dev split; one knob per variant."""
    import argparse
    ckpt = tmp_path / 'teacher.pth'
    ckpt.write_bytes(b'not read, only hashed')
    args = argparse.Namespace(
        teacher_ckpt=str(ckpt), data_root=str(tmp_path / 'shapes'),
        dev_root=str(tmp_path / 'dev'), size=160, batch_size=0, num_train=128,
        cfg_options=None, epochs=12)
    seen = {}
    for name in ablation.VARIANTS:
        cfg = ablation.variant_config(name, 0, args)
        assert cfg.train_dataloader.dataset.data_root.rstrip('/') == \
            args.data_root
        for key in ('val_dataloader', 'test_dataloader'):
            assert cfg[key].dataset.data_root.rstrip('/') == args.dev_root
        for key in ('val_evaluator', 'test_evaluator'):
            assert cfg[key].ann_file.startswith(args.dev_root)
        model = cfg.model
        seen[name] = (model.get('temperature', {}).get('type'),
                      model.get('temperature', {}).get('value'),
                      model.get('distill_loss', {}).get('loss_weight'))
        head = model.roi_head.bbox_head
        if '-sepfc' in name:  # no FC shared by the two branches
            assert head.type == 'ConvFCBBoxHead' and head.num_shared_fcs == 0
            assert head.num_cls_fcs == head.num_reg_fcs == 2
        else:
            assert head.type == 'Shared2FCBBoxHead'
        assert head.fc_out_channels == 256 and head.num_classes == 4
    assert seen == {
        'none': (None, None, None),
        'kd-t1': ('FixedTemperature', 1.0, 1.0),
        'kd-t4': ('FixedTemperature', 4.0, 1.0),
        'kd-t4-w0': ('FixedTemperature', 4.0, 0.0),
        'kd-t4-w0.25': ('FixedTemperature', 4.0, 0.25),
        'kd-t4-w0.0625': ('FixedTemperature', 4.0, 0.0625),
        'ctkd-global': ('GlobalTemperature', None, 1.0),
        'ctkd-global-tmax4': ('GlobalTemperature', None, 1.0),
        'ctkd-global-w0.0625': ('GlobalTemperature', None, 0.0625),
        'kd-t4-head': ('FixedTemperature', 4.0, 1.0),
        'kd-t4-sepfc-head': ('FixedTemperature', 4.0, 1.0),
        'none-sepfc': (None, None, None),
        'kd-t4-sepfc': ('FixedTemperature', 4.0, 1.0)}
    for name in ('kd-t4-head', 'kd-t4-sepfc-head'):
        assert ablation.variant_config(name, 0, args).model.type == \
            'HeadKDTwoStageDetector'
    assert ablation.variant_config('kd-t4', 0, args).model.type == \
        'KDTwoStageDetector'
    assert ablation.variant_config('kd-t4-head', 0, args).model.teacher_ckpt == \
        str(ckpt)
    tmax = {name: ablation.variant_config(name, 0, args).model.temperature.t_max
            for name in ('ctkd-global', 'ctkd-global-tmax4')}
    assert tmax == {'ctkd-global': 21.0, 'ctkd-global-tmax4': 4.0}
