"""ctkd-det: Curriculum Temperature Knowledge Distillation for MMDetection."""
import os
import os.path as osp
import shutil
import warnings

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))
# Shipped with the package as ctkd_det/.mim/<name>, where mmengine looks for the
# configs of a `ctkd_det::` path (ctkd_det/utils/config_scope.py). configs/ at the
# repository root stays the one source.
MIM_DIRS = ('configs', )


def get_version():
    ns = {}
    with open(osp.join(HERE, 'ctkd_det', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


def _ignore_bytecode(directory, names):
    return [n for n in names if n == '__pycache__' or n.endswith('.pyc')]


class BuildPyWithMim(build_py):
    """``build_py`` that also ships ``configs/`` as ``ctkd_det/.mim/configs``:

    * editable install (``pip install -e .``): a relative symlink in the checkout,
      ``ctkd_det/.mim/configs -> ../../configs`` (git-ignored), so edits to
      configs/ are seen at once (a copy where symlinks are not allowed);
    * otherwise (wheel, ``pip install .``): a copy in the build directory, so
      the checkout is left as it is.
    """

    def run(self):
        super().run()
        for name in MIM_DIRS:
            src = osp.join(HERE, name)
            if self.editable_mode:
                self._link_into_checkout(src, name)
            else:
                dst = osp.join(self.build_lib, 'ctkd_det', '.mim', name)
                if osp.isdir(dst):
                    shutil.rmtree(dst)
                shutil.copytree(src, dst, ignore=_ignore_bytecode)

    @staticmethod
    def _link_into_checkout(src, name):
        dst = osp.join(HERE, 'ctkd_det', '.mim', name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        try:
            os.symlink(osp.relpath(src, osp.dirname(dst)), dst,
                       target_is_directory=True)
        except OSError as e:  # e.g. Windows without symlink rights
            warnings.warn(f'cannot link {dst} -> {src} ({e}); copying instead: '
                          f'reinstall after changing {name}/')
            shutil.copytree(src, dst, ignore=_ignore_bytecode)


setup(
    name='ctkd_det',
    version=get_version(),
    description='Curriculum Temperature KD (CTKD) and instance-temperature '
    'policies for MMDetection detectors',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    # the `ctkd_det::` config scope: an empty model index (configs/ is added by
    # BuildPyWithMim)
    package_data={'ctkd_det': ['.mim/model-index.yml']},
    cmdclass={'build_py': BuildPyWithMim},
    python_requires='>=3.9',
    # Versions are pinned by the Makefile / requirements.txt; only lower bounds here so
    # a user's existing mmdet environment is not disturbed by `pip install -e .`.
    install_requires=['mmdet>=3.3.0', 'mmengine>=0.10.7', 'mmcv>=2.0.0'],
)
