"""se_plugin's packaging, the OpenMMLab way.

- ``install_requires`` leaves torch, torchvision and mmcv to the environment
  (as mmdet and mmpretrain do): ``pip install -e .`` or ``mim install -e .``
  into an environment that has them never rebuilds or replaces them.
  ``tools/setup_env.sh`` installs the exact pins (requirements/*.txt).
- A built wheel carries ``configs/``, the user tools of ``tools/`` and
  ``model-index.yml`` in ``se_plugin/.mim/``, where mim (``mim search``/
  ``mim train``) looks, and from where ``_base_ = 'se_plugin::...'``
  resolves (se_plugin/utils/mim.py). The checkout's set-up, CI and GPU
  plumbing (MIM_EXCLUDE) stays out of it.
"""
import os
import os.path as osp
import shutil
from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')
# Not user tools: they set up or test a checkout (setup_env.sh builds its
# .venv/, run_demo.sh and run_tests.sh start with it), check a GPU machine,
# regenerate the checkout's model-index.yml, or are the README's pictures.
# The sdist, a source distribution, keeps the set-up (MANIFEST.in).
MIM_EXCLUDE = ('tools/setup_env.sh', 'tools/misc/cuda_env.py',
               'tools/misc/check_env.py', 'tools/run_tests.sh',
               'tools/run_demo.sh', 'tools/misc/gpu_check.py',
               'tools/misc/make_model_index.py', 'tools/analysis/figures')


def version() -> str:
    scope: dict = {}
    exec(open(osp.join(ROOT, 'se_plugin/version.py')).read(), scope)
    return scope['__version__']


def _ignore(folder: str, names: list) -> set:
    """copytree's ignore: caches and MIM_EXCLUDE."""
    rel = osp.relpath(folder, ROOT)
    return {
        n
        for n in names if n == '__pycache__' or n.endswith('.pyc')
        or osp.join(rel, n) in MIM_EXCLUDE
    }


class BuildPyWithMim(build_py):
    """build_py that also copies MIM_FILES, less MIM_EXCLUDE, into the
    build's se_plugin/.mim/.

    mmdet's and mmpretrain's ``add_mim_extension`` copy them into the source
    tree's package instead, which leaves a stale copy in the checkout; here
    only the build (the wheel) gets one. Editable installs need none: they
    run from the checkout, which has the originals.
    """

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        mim = osp.join(self.build_lib, 'se_plugin', '.mim')
        if osp.isdir(mim):
            shutil.rmtree(mim)  # no stale configs from an earlier build
        os.makedirs(mim)
        for name in MIM_FILES:
            src, dst = osp.join(ROOT, name), osp.join(mim, name)
            if osp.isdir(src):
                shutil.copytree(src, dst, ignore=_ignore)
            else:
                shutil.copyfile(src, dst)


setup(
    name='se_plugin',
    version=version(),
    description='Squeeze-and-Excitation networks for OpenMMLab '
    '(mmengine, mmcv, mmdet, mmpretrain)',
    long_description=open(osp.join(ROOT, 'README.md')).read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['se_plugin', 'se_plugin.*']),
    cmdclass={'build_py': BuildPyWithMim},
    python_requires='>=3.9',
    # torch, torchvision and mmcv (with its compiled ops) come from the
    # environment; mmdet 3.3 needs mmcv >= 2.0, < 2.2. numpy < 2.4: mmpretrain
    # calls np.in1d.
    install_requires=[
        'mmengine>=0.10,<0.11', 'mmdet>=3.3,<3.4', 'mmpretrain>=1.2,<1.3',
        'model-index', 'pycocotools', 'numpy<2.4'
    ],
    extras_require={
        # tools/model_converters/convert_senet.py on timm/Hugging Face files
        'converters': ['timm>=1.0', 'safetensors'],
        # the test suite (exact pins: requirements/tests.txt)
        'tests': [
            'pytest', 'timm>=1.0', 'safetensors', 'mmsegmentation>=1.2,<1.3',
            'prettytable'
        ],
    },
    license='Apache-2.0',
    license_files=['LICENSE'],
    zip_safe=False,
)
