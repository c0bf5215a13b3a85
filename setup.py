from setuptools import find_packages, setup


def version() -> str:
    scope: dict = {}
    exec(open('se_plugin/version.py').read(), scope)
    return scope['__version__']


setup(
    name='se_plugin',
    version=version(),
    description='Squeeze-and-Excitation networks for OpenMMLab '
    '(mmengine, mmcv, mmdet, mmpretrain)',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['se_plugin', 'se_plugin.*']),
    python_requires='>=3.9',
    # Exact pins live in requirements/runtime.txt; tools/setup_env.sh
    # installs them and builds mmcv with its ops.
    install_requires=[
        'torch>=2.1', 'torchvision', 'mmengine>=0.10,<0.11',
        'mmcv>=2.0,<2.2', 'mmdet>=3.3,<3.4', 'mmpretrain>=1.2,<1.3',
        'pycocotools', 'numpy<2.4'
    ],
    license='Apache-2.0',
)
