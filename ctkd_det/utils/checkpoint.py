"""Load mmengine runner checkpoints on torch>=2.6 while staying ``weights_only``.

torch>=2.6 defaults ``torch.load`` to ``weights_only=True`` and mmengine 0.10.7
passes no ``weights_only``, so runner checkpoints (whose ``message_hub`` holds
``HistoryBuffer`` objects with numpy data) fail with "Unsupported global". We
never turn ``weights_only`` off (teacher checkpoints may come from a URL);
instead we allowlist the few globals such checkpoints contain, only while
mmengine loads a checkpoint.

Globals found with ``pickletools`` in the ``data.pkl`` of a checkpoint written
by a real mmengine 0.10.7 ``Runner`` (torch 2.13, numpy 2.4, pickle protocol 2)
that ``weights_only`` does not allow by default::

    mmengine.logging.history_buffer.HistoryBuffer
    numpy._core.multiarray._reconstruct, numpy.ndarray, numpy.dtype
    numpy._core.multiarray.scalar
    builtins.getattr  -> getattr(HistoryBuffer, 'min'|'max'|'current'|'mean')

plus, at load time, the dtype classes the unpickler BUILDs
(``numpy.dtypes.Float64DType``, ``numpy.dtypes.Int64DType``).
"""
import contextlib
import functools
import pickle
import threading
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch

__all__ = [
    'ALLOWED_HISTORY_BUFFER_ATTRS', 'mmengine_safe_globals',
    'patch_mmengine_checkpoint_loading', 'restricted_getattr',
    'safe_checkpoint_loading'
]

# HistoryBuffer pickles its ``_statistics_methods`` (default ones: see
# ``HistoryBuffer._set_default_statistics``) as getattr(HistoryBuffer, name).
ALLOWED_HISTORY_BUFFER_ATTRS = frozenset({'min', 'max', 'current', 'mean'})

_WRAPPED_FLAG = '__ctkd_safe_checkpoint_wrapped__'
_scope_lock = threading.Lock()
_scope_depth = 0
_scope_cm = None


def _history_buffer_cls() -> type:
    from mmengine.logging.history_buffer import HistoryBuffer
    return HistoryBuffer


def restricted_getattr(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` during unpickling.

    Only resolves HistoryBuffer's statistics methods; anything else is refused
    so a pickle cannot reach e.g. ``__globals__`` or ``os.system``.
    """
    hb = _history_buffer_cls()
    if (type(name) is str and name in ALLOWED_HISTORY_BUFFER_ATTRS
            and (obj is hb or type(obj) is hb)):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'ctkd_det: refusing getattr({type(obj).__name__} object, {name!r}) '
        'while loading a checkpoint; only HistoryBuffer statistics methods '
        f'{sorted(ALLOWED_HISTORY_BUFFER_ATTRS)} are allowed')


def _numeric_dtype_classes() -> List[type]:
    """DType classes the unpickler must BUILD for numeric numpy arrays/scalars
    (``float64``/``int64`` are the ones mmengine writes)."""
    codes = ['?'] + [f'{k}{n}' for k in 'iu' for n in (1, 2, 4, 8)] + \
        ['f2', 'f4', 'f8']
    classes: List[type] = []
    for code in codes:
        cls = type(np.dtype(code))
        if cls not in classes:
            classes.append(cls)
    return classes


def mmengine_safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    """Globals to allowlist for mmengine runner checkpoints (for use with
    ``torch.serialization.safe_globals``)."""
    multiarray = np._core.multiarray
    return [
        _history_buffer_cls(),
        multiarray._reconstruct,
        multiarray.scalar,
        np.ndarray,
        np.dtype,
        *_numeric_dtype_classes(),
        # Same functions under their numpy<2 path (older checkpoints).
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (restricted_getattr, 'builtins.getattr'),
    ]


@contextlib.contextmanager
def safe_checkpoint_loading():
    """Allowlist :func:`mmengine_safe_globals` for ``weights_only`` loads
    inside this block, so mmengine's plain ``torch.load`` calls work.

    Re-entrant and thread-safe (reference counted); on exit only the globals
    it added are removed. torch's allowlist is process-wide, so other threads
    loading at the same moment see the same (narrow) allowance.
    """
    global _scope_depth, _scope_cm
    if not hasattr(torch.serialization, 'safe_globals'):  # torch<2.5
        yield
        return
    with _scope_lock:
        if _scope_depth == 0:
            present = set(torch.serialization.get_safe_globals())
            missing = [g for g in mmengine_safe_globals() if g not in present]
            cm = torch.serialization.safe_globals(missing)
            cm.__enter__()
            _scope_cm = cm
        _scope_depth += 1
    try:
        yield
    finally:
        with _scope_lock:
            _scope_depth -= 1
            if _scope_depth == 0:
                cm, _scope_cm = _scope_cm, None
                cm.__exit__(None, None, None)


def _wrap(fn: Callable) -> Callable:
    if getattr(fn, _WRAPPED_FLAG, False):
        return fn

    @functools.wraps(fn)  # keeps __name__: mmengine logs it
    def wrapper(*args, **kwargs):
        with safe_checkpoint_loading():
            return fn(*args, **kwargs)

    setattr(wrapper, _WRAPPED_FLAG, True)
    return wrapper


def patch_mmengine_checkpoint_loading() -> None:
    """Make mmengine checkpoint loading run inside
    :func:`safe_checkpoint_loading` (idempotent).

    Wraps ``CheckpointLoader.load_checkpoint``, which ``load_checkpoint``,
    ``_load_checkpoint``, ``Runner.load_checkpoint``/``resume`` (``load_from``,
    ``--resume``) and mmdet backbones go through, and every registered scheme
    loader in ``CheckpointLoader._schemes``.
    """
    from mmengine.runner.checkpoint import CheckpointLoader

    raw = CheckpointLoader.__dict__['load_checkpoint']
    if isinstance(raw, classmethod) and not getattr(raw.__func__,
                                                    _WRAPPED_FLAG, False):
        CheckpointLoader.load_checkpoint = classmethod(_wrap(raw.__func__))
    for prefix, loader in list(CheckpointLoader._schemes.items()):
        CheckpointLoader._schemes[prefix] = _wrap(loader)
