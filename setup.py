"""ctkd-det: Curriculum Temperature Knowledge Distillation for MMDetection."""
import os.path as osp

from setuptools import find_packages, setup


def get_version():
    ns = {}
    with open(osp.join(osp.dirname(__file__), 'ctkd_det', 'version.py')) as f:
        exec(f.read(), ns)
    return ns['__version__']


setup(
    name='ctkd_det',
    version=get_version(),
    description='Curriculum Temperature KD (CTKD) and instance-temperature '
    'policies for MMDetection detectors',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    python_requires='>=3.9',
    # Versions are pinned by the Makefile / requirements.txt; only lower bounds here so
    # a user's existing mmdet environment is not disturbed by `pip install -e .`.
    install_requires=['mmdet>=3.3.0', 'mmengine>=0.10.7', 'mmcv>=2.0.0'],
)
