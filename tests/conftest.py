"""What the tests share: the checkout's paths, one way to run a tool
(``tools/<name>.py``) or a fresh python in a subprocess, a free TCP port, a
check that two generated sets are the same files, exact equality of nested
states, where a distillation detector keeps its teacher and temperature, and the
fixtures ``one_torch_thread``, ``tiny_shapes`` and ``tiny_teacher``.

pytest's default ``prepend`` import mode puts ``tests/`` on ``sys.path``, so test
modules import the plain helpers below (``from conftest import REPO, run_tool``)
and the helper modules ``_tiny`` and ``_kd_runs`` directly. A subprocess that
imports a helper module (a config's ``custom_imports``) gets ``tests/`` on its
``PYTHONPATH`` from ``tool_env(tests_on_path=True)``.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmdet.utils import register_all_modules

from ctkd_det.datasets import make_shapes

from _kd_runs import save_tiny_teacher

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.join(REPO, 'tests')
TOOLS = osp.join(REPO, 'tools')
CONFIGS = osp.join(REPO, 'configs')

register_all_modules(init_default_scope=True)


# -- subprocesses ------------------------------------------------------------------
def tool_env(tests_on_path: bool = False, **extra) -> dict:
    """The environment of a subprocess: one intra-op thread, this checkout first
    on ``PYTHONPATH`` (its ``ctkd_det``, not an installed one), then ``tests/``
    if asked (for ``custom_imports=['_kd_runs']``); ``extra`` variables last."""
    paths = [REPO] + ([TESTS] if tests_on_path else []) + \
        [p for p in [os.environ.get('PYTHONPATH')] if p]
    return dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
                PYTHONPATH=os.pathsep.join(paths), **extra)


def run_python(*argv, cwd: str = REPO, env: dict = None,
               timeout: float = 300) -> subprocess.CompletedProcess:
    """``python *argv`` (this interpreter) in ``cwd``, with ``tool_env()``
    unless ``env`` is given; text output captured, the exit code not checked."""
    return subprocess.run([sys.executable, *map(str, argv)], cwd=str(cwd),
                          env=tool_env() if env is None else env,
                          capture_output=True, text=True, timeout=timeout)


def run_tool(name: str, *args, **kwargs) -> subprocess.CompletedProcess:
    """``python tools/<name>.py *args``: the command line a user types (the
    library itself is imported from the package); options as ``run_python``."""
    return run_python(osp.join(TOOLS, f'{name}.py'), *args, **kwargs)


def free_port() -> int:
    """A TCP port nobody listens on now (for a torch.distributed rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# -- generated data ----------------------------------------------------------------
def read_annotations(root, split: str) -> dict:
    """A generated set's COCO annotations of ``split``."""
    with open(osp.join(root, 'annotations', f'{split}.json')) as f:
        return json.load(f)


def assert_same_generated_set(a, b, splits) -> None:
    """Two generated sets (``annotations/<split>.json`` and the images) are the
    same files."""
    for split in splits:
        coco = read_annotations(a, split)
        assert read_annotations(b, split) == coco, split
        for im in coco['images']:
            name = osp.join(split, im['file_name'])
            with open(osp.join(a, name), 'rb') as fa, \
                    open(osp.join(b, name), 'rb') as fb:
                assert fa.read() == fb.read(), name


# -- fixtures ----------------------------------------------------------------------
def assert_nested_equal(x, y, path: str = '') -> None:
    """Exact equality of nested dicts / lists / tensors (checkpoint states)."""
    if isinstance(x, torch.Tensor):
        assert torch.equal(x, y), path
    elif isinstance(x, dict):
        assert x.keys() == y.keys(), path
        for k in x:
            assert_nested_equal(x[k], y[k], f'{path}.{k}')
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y), path
        for i, (u, v) in enumerate(zip(x, y)):
            assert_nested_equal(u, v, f'{path}[{i}]')
    else:
        assert x == y, path


def assert_teacher_outside_module_tree(model) -> None:
    """A distillation detector keeps its teacher frozen and out of its module
    tree, and its temperature (a ``GlobalTemperature``) in it: after
    ``model.train()`` the teacher is still in eval mode; no ``teacher*`` key in
    ``state_dict``; no teacher parameter requires grad or is among
    ``model.parameters()``; ``temperature.theta`` is a parameter; ``.to()``
    moves the teacher with the model. Leaves ``model`` in train mode, float64."""
    model.train()
    assert not model.teacher.training and model.training
    assert not any(k.startswith('teacher') for k in model.state_dict())
    assert all(not p.requires_grad for p in model.teacher.parameters())
    ids = {id(p) for p in model.parameters()}
    assert not ids & {id(p) for p in model.teacher.parameters()}
    assert 'temperature.theta' in dict(model.named_parameters())
    model.to(torch.float64)
    assert next(model.teacher.parameters()).dtype == torch.float64
    assert model.temperature.theta.dtype == torch.float64


@pytest.fixture(scope='module')
def one_torch_thread():
    """One intra-op torch thread for a module's tests (tiny models gain nothing
    from more; on a shared 2-core machine one avoids oversubscription); restored
    afterwards. A module asks for it with
    ``pytestmark = pytest.mark.usefixtures('one_torch_thread')``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope='session')
def tiny_shapes(tmp_path_factory) -> str:
    """The tiny generated shapes set: 8 train / 4 val images of 96 px, seed 0.
    Shared by the test modules: read it, never write into it."""
    root = str(tmp_path_factory.mktemp('tiny_shapes'))
    make_shapes(root, num_train=8, num_val=4, size=96, seed=0)
    return root


@pytest.fixture(scope='session')
def tiny_teacher(tmp_path_factory) -> str:
    """A randomly initialised tiny Faster R-CNN teacher checkpoint (seed 123)
    for the shapes classes. Shared: read it, never write it."""
    return save_tiny_teacher(tmp_path_factory.mktemp('tiny_teacher') /
                             'teacher.pth')
