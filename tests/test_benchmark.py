"""ctkd_det.experiments.benchmark (CLI tools/benchmark.py) on tiny settings."""
import json
import os.path as osp

import pytest

from ctkd_det.experiments import benchmark
from ctkd_det.experiments.benchmark import BenchmarkSettings

from conftest import CONFIGS, run_tool

SHAPES = osp.join(CONFIGS, 'shapes')
STUDENT = osp.join(SHAPES, 'faster-rcnn_r18_fpn_shapes.py')
KD = osp.join(SHAPES, 'faster-rcnn_r50-to-r18_fpn_kd_cpu_shapes.py')


def test_benchmark_variant_list(monkeypatch, tmp_path):
    names = [n for n, _ in benchmark.default_configs()]
    assert names[:4] == ['student', 'kd', 'ctkd-global', 'ctkd-instance']
    fake = tmp_path / 'rlkd.py'
    fake.write_text('')
    monkeypatch.setattr(benchmark, 'RLKD_CONFIG', str(fake))
    assert benchmark.default_configs()[-1] == ('rlkd', str(fake))
    monkeypatch.setattr(benchmark, 'RLKD_CONFIG', str(tmp_path / 'none.py'))
    assert 'rlkd' not in [n for n, _ in benchmark.default_configs()]
    assert benchmark.parse_config_arg([f'x={fake}', str(fake)]) == \
        [('x', str(fake)), ('rlkd', str(fake))]
    with pytest.raises(FileNotFoundError):
        benchmark.parse_config_arg(['x=/no/such/config.py'])
    # overrides after the path: literals where they parse, else strings
    spec = f'{fake}:model.teacher_cache_mb=0:a.b=[1, 2]:c=x'
    assert benchmark.parse_config_arg([f'y={spec}']) == [('y', spec)]
    assert benchmark.config_overrides(spec) == {
        'model.teacher_cache_mb': 0, 'a.b': [1, 2], 'c': 'x'}
    with pytest.raises(ValueError, match='not key=value'):
        benchmark.parse_config_arg([f'y={fake}:oops'])
    # the batch from a set on disk, passed on to the memory child
    on_disk = BenchmarkSettings(data_root=str(tmp_path))
    assert benchmark.batch_root('unused', on_disk) == str(tmp_path)
    assert benchmark.memory_child_cmd('y', spec, on_disk)[-2:] == \
        ['--data-root', str(tmp_path)]
    with pytest.raises(FileNotFoundError, match='--data-root'):
        benchmark.batch_root('unused', BenchmarkSettings(
            data_root=str(tmp_path / 'missing')))
    # the A/A control adds a second kd; it needs one
    assert benchmark.select_variants([('kd', 'a'), ('s', 'b')], aa=True) == \
        [('kd', 'a'), ('s', 'b'), ('kd-copy', 'a')]
    with pytest.raises(ValueError, match='named kd'):
        benchmark.select_variants([('s', 'b')], aa=True)


def test_benchmark_round_order_rotates():
    names = ['a', 'b', 'c']
    orders = [benchmark.round_order(names, r) for r in range(4)]
    assert orders == [['a', 'b', 'c'], ['b', 'c', 'a'], ['c', 'a', 'b'],
                      ['a', 'b', 'c']]


def test_benchmark_statistics_and_table():
    """Ratios of medians, paired (per-round) ratios and CPU-time ratios, the
    acceptance criteria and the table, on made-up times."""
    times = {'kd': [1.0, 2.0, 4.0], 'ctkd-global': [1.1, 2.0, 3.0]}
    cpu = {'kd': [1.0, 1.0, 1.0], 'ctkd-global': [1.5, 1.5, 1.5]}
    paths = {n: osp.join(SHAPES, f'{n}.py') for n in times}
    v = benchmark.variant_stats(paths, times, cpu)
    g = v['ctkd-global']
    assert g['config'] == osp.join('configs', 'shapes', 'ctkd-global.py')
    assert g['median_s'] == 2.0 and g['min_s'] == 1.1 and g['max_s'] == 3.0
    assert g['mean_s'] == pytest.approx(6.1 / 3)
    assert g['ratio_to_kd'] == pytest.approx(1.0)
    # per round 1.1, 1.0, 0.75: median 1.0; CPU 1.5
    assert g['paired_ratio_to_kd'] == pytest.approx(1.0)
    assert g['cpu_ratio_to_kd'] == pytest.approx(1.5)
    assert 'ratio_to_student' not in g and 'peak_memory_mb' not in g
    criteria = benchmark.check_criteria(v)
    assert criteria == {'ctkd-global': dict(
        limit=1.02, ratio=pytest.approx(1.0), paired_ratio=pytest.approx(1.0),
        cpu_ratio=pytest.approx(1.5), passed=True)}
    slow = benchmark.variant_stats(
        paths, {'kd': [1.0], 'ctkd-global': [1.03]}, {'kd': [1.0],
                                                     'ctkd-global': [1.0]})
    assert not benchmark.check_criteria(slow)['ctkd-global']['passed']
    gpu = benchmark.variant_stats(paths, times, cpu,
                                  peak_gpu={'kd': 2 * 1024 ** 2,
                                            'ctkd-global': 3 * 1024 ** 2})
    assert gpu['ctkd-global']['peak_memory_mb'] == 3.0
    benchmark.add_cpu_memory(v, {'kd': dict(peak_rss_mb=900.4,
                                            step_rss_delta_mb=120.6)})
    table = benchmark.format_table(dict(variants=v, criteria=criteria))
    assert table.splitlines() == [
        '| variant | median step (s) | min (s) | x KD | x KD (paired) | '
        'x KD (CPU time) | x student | peak memory (MiB) | '
        'step memory (MiB) |',
        '|---|---|---|---|---|---|---|---|---|',
        '| kd | 2.000 | 1.000 | 1.000 | 1.000 | 1.000 | - | 900 | 121 |',
        '| ctkd-global | 2.000 | 1.100 | 1.000 | 1.000 | 1.500 | - | - | - |',
        'ctkd-global: 1.000x KD (paired 1.000x, CPU time 1.500x), limit '
        '1.02x: PASS']


def test_benchmark_tiny_run(tmp_path):
    """Two variants, one timed round, tiny batch: the result's shape."""
    configs = benchmark.parse_config_arg([f'student={STUDENT}', f'kd={KD}'])
    settings = BenchmarkSettings(steps=1, warmup=0, batch_size=1, size=64,
                                 memory=False)
    res = benchmark.run(configs, settings, log=lambda m: None)
    assert list(res['variants']) == ['student', 'kd']
    for v in res['variants'].values():
        assert v['median_s'] > 0 and len(v['times_s']) == 1
        assert {'ratio_to_kd', 'ratio_to_student', 'paired_ratio_to_kd',
                'cpu_ratio_to_kd'} <= set(v)
    assert res['variants']['kd']['ratio_to_kd'] == pytest.approx(1.0)
    assert '| student |' in benchmark.format_table(res)
    cfg = benchmark.load_config(f'{KD}:model.teacher_cache_mb=7', 64)
    assert cfg.model.teacher_cache_mb == 7 and cfg.model.teacher_ckpt is None


def test_benchmark_cli_with_memory_child(tmp_path):
    """tools/benchmark.py end to end on one variant, with the CPU memory
    peak measured in a child process (``python -m`` of the package module)."""
    out = tmp_path / 'bench.json'
    proc = run_tool('benchmark', '--configs', f'student={STUDENT}', '--steps',
                    '1', '--warmup', '0', '--batch-size', '1', '--size', '64',
                    '--threads', '1', '--memory-steps', '1', '--out', out,
                    cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert 'memory: student (child process, 1 steps)' in proc.stdout
    assert 'failed' not in proc.stdout, proc.stdout[-3000:]
    with open(out) as f:
        res = json.load(f)
    assert res['torch_threads'] == 1 and res['steps'] == 1
    v = res['variants']['student']
    assert v['config'] == osp.join('configs', 'shapes',
                                   'faster-rcnn_r18_fpn_shapes.py')
    assert v['memory_measure'] == benchmark.CPU_MEMORY_MEASURE
    # a process with torch, mmdet and a ResNet-18 detector: hundreds of MiB
    assert 100 < v['peak_memory_mb'] < 64 * 1024
    assert 0 <= v['step_memory_delta_mb'] < v['peak_memory_mb']
    assert f'| student | {v["median_s"]:.3f} |' in proc.stdout
    assert f'wrote {out}' in proc.stdout
