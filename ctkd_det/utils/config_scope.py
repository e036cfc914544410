"""``ctkd_det::`` config paths, resolved the way mmengine resolves ``mmdet::``.

A user config inherits our fragments without copying them::

    _base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
              'ctkd_det::_base_/distill/ctkd-global.py']

mmengine 0.10.7 (``Config._get_cfg_path``) maps the scope to a package through
``mmengine.config.utils.MODULE2PACKAGE`` (a fixed list of OpenMMLab projects),
finds the package with ``get_installed_path`` and reads
``<package>/.mim/configs/<path>`` (after looking the name up in
``<package>/.mim/model-index.yml``). The package ships ``configs/`` as
``ctkd_det/.mim/configs`` (setup.py: a symlink for editable installs, a copy in
a wheel) and an empty ``.mim/model-index.yml``. Importing ctkd_det then:

* adds ``ctkd_det`` to ``MODULE2PACKAGE`` (so ``import ctkd_det`` must precede
  ``Config.fromfile``: ``tools/train.py``, ``tools/test.py`` and
  ``python -m ctkd_det.apis.train`` do; a config's ``custom_imports`` runs too
  late, after its bases are read);
* makes ``get_installed_path('ctkd_det')``, as the config loader calls it, the
  directory of the imported package. mmengine's own answer is
  ``<dist location>/ctkd_det``, which does not exist for a PEP 660 editable
  install (``pip install -e .``: the package stays in the checkout) and names
  another copy when a checkout is put first on ``PYTHONPATH``.

The registry side of the scope (``_scope_='ctkd_det'``) is in ``registry.py``.
"""
import functools
import os.path as osp

__all__ = ['CONFIG_SCOPE', 'PACKAGE_DIR', 'CONFIGS_DIR', 'register_config_scope']

CONFIG_SCOPE = 'ctkd_det'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS_DIR = osp.join(PACKAGE_DIR, '.mim', 'configs')
_WRAPPED_FLAG = '__ctkd_config_scope__'


def _package_dir() -> str:
    """This package's directory, if it holds the configs."""
    if not osp.isdir(CONFIGS_DIR):
        raise FileNotFoundError(
            f'`{CONFIG_SCOPE}::` configs not found: {CONFIGS_DIR} does not exist. '
            'It is created when ctkd_det is installed (`pip install -e .` links '
            'the checkout\'s configs/ there, a wheel copies them); a checkout '
            'that is only on PYTHONPATH has no `ctkd_det::` configs.')
    return PACKAGE_DIR


def register_config_scope() -> None:
    """Make ``ctkd_det::`` config paths resolve to this package's configs
    (idempotent)."""
    from mmengine.config import config as config_module
    from mmengine.config.utils import MODULE2PACKAGE

    MODULE2PACKAGE.setdefault(CONFIG_SCOPE, CONFIG_SCOPE)
    original = config_module.get_installed_path
    if getattr(original, _WRAPPED_FLAG, False):
        return

    @functools.wraps(original)
    def get_installed_path(package: str) -> str:
        if package == CONFIG_SCOPE:
            return _package_dir()
        return original(package)

    setattr(get_installed_path, _WRAPPED_FLAG, True)
    config_module.get_installed_path = get_installed_path
