"""ctkd_det registers into MMDetection's registries, so mmdet configs and tools see
our modules once ``ctkd_det`` is imported (``custom_imports`` in a config).

The ``ctkd_det`` registry scope: mmengine marks the typed dicts of a
``ctkd_det::`` base config with ``_scope_='ctkd_det'`` (as ``mmdet::`` bases get
``'mmdet'``) and builds them, and everything built inside them, with the
registries of that scope. Each mmdet registry therefore has an empty child of
scope ``ctkd_det`` (``SCOPED_REGISTRIES``): a lookup there falls through to
mmdet's registry, where ctkd_det's modules are registered, then to mmengine's.
Register modules into ``MODELS`` / ``HOOKS`` (mmdet's), never into these.
"""
from mmdet import registry as _mmdet_registry
from mmdet.registry import HOOKS, MODELS
from mmengine.registry import Registry

SCOPE = 'ctkd_det'
SCOPED_REGISTRIES = {
    name: Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])
    for name, parent in sorted(vars(_mmdet_registry).items())
    if isinstance(parent, Registry) and parent.scope == 'mmdet'
}

__all__ = ['MODELS', 'HOOKS', 'SCOPE', 'SCOPED_REGISTRIES']
