"""Multi-process training on CPU: tools/dist_train.sh (torchrun + tools/train.py
--launcher pytorch) with 2 gloo processes on tiny shapes data. The temperature is
part of the DDP-wrapped student, so θ and the student's weights must be identical
on both ranks after every step, although each rank trains on other images."""
import os
import os.path as osp
import stat
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import _load_checkpoint

from ctkd_det.apis import last_checkpoint
from ctkd_det.utils.dist import launcher_env

from _kd_runs import tiny_ctkd_cfg
from conftest import REPO, TOOLS, free_port, tool_env

DIST_TRAIN = osp.join(TOOLS, 'dist_train.sh')
SLURM_TRAIN = osp.join(TOOLS, 'slurm_train.sh')
DIST_TEST = osp.join(TOOLS, 'dist_test.sh')
SLURM_TEST = osp.join(TOOLS, 'slurm_test.sh')


@pytest.fixture(scope='module')
def dist_run(tiny_shapes, tiny_teacher, tmp_path_factory):
    tmp = tmp_path_factory.mktemp('dist')
    work = str(tmp / 'work')
    dumps = tmp / 'dumps'
    dumps.mkdir()
    # 8 images, 2 ranks x 2 images: 2 steps per epoch, 2 epochs
    cfg = tiny_ctkd_cfg(tiny_shapes, work, tiny_teacher, epochs=2, batch=2)
    cfg.train_cfg.val_interval = 2
    cfg.custom_imports = dict(imports=['ctkd_det', '_kd_runs'],
                              allow_failed_imports=False)
    cfg.custom_hooks = cfg.custom_hooks + [
        dict(type='RankStateDumpHook', out_dir=str(dumps))]
    cfg_path = str(tmp / 'cfg.py')
    cfg.dump(cfg_path)
    env = tool_env(tests_on_path=True, PYTHON=sys.executable,
                   PORT=str(free_port()))
    proc = subprocess.run(['bash', DIST_TRAIN, cfg_path, '2', '--work-dir', work],
                          capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=420)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-6000:]
    ranks = [torch.load(str(dumps / f'rank{r}.pth'), weights_only=False)
             for r in range(2)]
    return dict(work=work, ranks=ranks, log=proc.stdout + proc.stderr)


def test_two_gloo_processes_trained_with_ddp(dist_run):
    r0, r1 = dist_run['ranks']
    assert (r0['rank'], r1['rank']) == (0, 1)
    assert r0['world_size'] == r1['world_size'] == 2
    assert [s['iter'] for s in r0['steps']] == [0, 1, 2, 3]
    assert all(s['ddp'] for s in r0['steps'] + r1['steps'])
    # the teacher is not part of the DDP-wrapped module
    assert not r0['teacher_in_ddp'] and not r1['teacher_in_ddp']
    # each rank trained on its own images: its local losses differ
    assert any(a['loss'] != b['loss'] for a, b in zip(r0['steps'], r1['steps']))


def test_temperature_and_student_identical_across_ranks_after_every_step(dist_run):
    r0, r1 = dist_run['ranks']
    for a, b in zip(r0['steps'], r1['steps']):
        assert torch.equal(a['theta'], b['theta']), (a['iter'], a['theta'],
                                                     b['theta'])
        assert a['checksum'] == b['checksum'] and \
            a['sq_checksum'] == b['sq_checksum'], a['iter']
    # θ was trained (λ > 0 from the second step on)
    assert r0['steps'][-1]['theta'].item() != pytest.approx(1.0, abs=1e-5)
    assert r0['params'].keys() == r1['params'].keys()
    for name, p in r0['params'].items():
        assert torch.equal(p, r1['params'][name]), name
    # frozen-BN backbone (norm_eval) and no other BN: buffers agree as well
    for name, b in r0['buffers'].items():
        assert torch.equal(b, r1['buffers'][name]), name


def test_rank0_checkpoint_holds_the_synchronised_weights_and_all_rng_states(
        dist_run):
    ckpt = _load_checkpoint(last_checkpoint(dist_run['work']), map_location='cpu')
    for name, p in dist_run['ranks'][1]['params'].items():
        assert torch.equal(ckpt['state_dict'][name], p), name
    assert 'temperature.theta' in ckpt['state_dict']
    # RngStateHook gathered one RNG state per rank for an exact resume
    ranks = ckpt['rng_state']['ranks']
    assert len(ranks) == 2
    assert not torch.equal(ranks[0]['torch'], ranks[1]['torch'])


def _fake_exe(path, name):
    """An executable that records its arguments, one per line."""
    exe = path / name
    exe.write_text('#!/bin/sh\n'
                   f'for a in "$@"; do echo "$a"; done > {path}/{name}.args\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe


def _torchrun_args(tmp_path, argv, tool):
    """Run a dist_*.sh script against a fake python with a 2-node environment;
    check torchrun's options, return the arguments after ``tools/<tool>``."""
    fake = _fake_exe(tmp_path, 'python')
    env = dict(os.environ, PYTHON=str(fake), NNODES='2', NODE_RANK='1',
               PORT='12345', MASTER_ADDR='10.1.2.3')
    subprocess.run(['bash', *argv], check=True, env=env, cwd=REPO, timeout=30)
    args = (tmp_path / 'python.args').read_text().split('\n')
    assert args[:2] == ['-m', 'torch.distributed.run']
    for opt in ('--nnodes=2', '--node_rank=1', '--master_addr=10.1.2.3',
                '--nproc_per_node=4', '--master_port=12345'):
        assert opt in args
    return args[args.index(osp.join(TOOLS, tool)) + 1:]


def _srun_env(tmp_path, **extra):
    """A PATH whose ``srun`` records its arguments; 16 tasks, 8 per node."""
    _fake_exe(tmp_path, 'srun')
    return dict(os.environ, PATH=f'{tmp_path}{os.pathsep}{os.environ["PATH"]}',
                GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='4', **extra)


def _srun_args(tmp_path, argv, tool, **extra_env):
    """Run a slurm_*.sh script against the fake srun; check srun's options,
    return the arguments after ``tools/<tool>``."""
    subprocess.run(['bash', *argv], check=True, cwd=REPO, timeout=30,
                   env=_srun_env(tmp_path, **extra_env), capture_output=True)
    args = (tmp_path / 'srun.args').read_text().split('\n')
    for opt in ('--job-name=job', '--ntasks=16', '--ntasks-per-node=8',
                '--cpus-per-task=4', '--kill-on-bad-exit=1'):
        assert opt in args
    assert args[args.index('-p') + 1] == 'part'
    if extra_env.get('GRES') == '':  # CPU-only partition: no GPU request
        assert not any(a.startswith('--gres') for a in args)
    else:
        assert '--gres=gpu:8' in args
    return args[args.index(osp.join(TOOLS, tool)) + 1:]


def test_dist_train_sh_honours_multi_node_environment(tmp_path):
    args = _torchrun_args(tmp_path, [DIST_TRAIN, 'cfg.py', '4', '--resume',
                                     '--amp'], 'train.py')
    assert args[:5] == ['cfg.py', '--launcher', 'pytorch', '--resume', '--amp']


def test_slurm_train_sh_builds_the_srun_command(tmp_path):
    args = _srun_args(tmp_path, [SLURM_TRAIN, 'part', 'job', 'cfg.py', 'wd',
                                 '--resume'], 'train.py')
    assert args[:4] == ['cfg.py', '--work-dir=wd', '--launcher=slurm',
                        '--resume']
    # CPU-only partition: no --gres (checked in _srun_args)
    _srun_args(tmp_path, [SLURM_TRAIN, 'part', 'job', 'cfg.py', 'wd'],
               'train.py', GRES='')


def test_test_scripts_build_their_commands(tmp_path):
    """tools/dist_test.sh and tools/slurm_test.sh: as the train scripts, with
    tools/test.py CONFIG CHECKPOINT (run for real with 2 processes in
    test_export.py)."""
    args = _torchrun_args(tmp_path, [DIST_TEST, 'cfg.py', 'ckpt.pth', '4',
                                     '--out', 'r.pkl'], 'test.py')
    assert args[:6] == ['cfg.py', 'ckpt.pth', '--launcher', 'pytorch',
                        '--out', 'r.pkl']
    args = _srun_args(tmp_path, [SLURM_TEST, 'part', 'job', 'cfg.py',
                                 'ckpt.pth', '--work-dir', 'wd'], 'test.py')
    assert args[:5] == ['cfg.py', 'ckpt.pth', '--launcher=slurm', '--work-dir',
                        'wd']
    for script in (DIST_TEST, SLURM_TEST):  # missing arguments: usage, exit 2
        proc = subprocess.run(['bash', script, 'cfg.py'], cwd=REPO,
                              env=_srun_env(tmp_path), capture_output=True,
                              text=True, timeout=30)
        assert proc.returncode == 2 and 'usage:' in proc.stderr


def test_launcher_env_from_slurm_and_mpi_variables():
    env = dict(SLURM_PROCID='3', SLURM_NTASKS='4', SLURM_LOCALID='1',
               MASTER_ADDR='node7')
    assert launcher_env('slurm', port=2345, environ=env) == dict(
        RANK='3', WORLD_SIZE='4', LOCAL_RANK='1', MASTER_ADDR='node7',
        MASTER_PORT='2345')
    env = dict(OMPI_COMM_WORLD_RANK='1', OMPI_COMM_WORLD_SIZE='2',
               OMPI_COMM_WORLD_LOCAL_RANK='1', MASTER_ADDR='h')
    assert launcher_env('mpi', environ=env)['MASTER_PORT'] == '29500'
    with pytest.raises(RuntimeError, match=r"\['RANK', 'WORLD_SIZE'"):
        launcher_env('pytorch', environ={})
