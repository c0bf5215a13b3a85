"""se_plugin's configs from any directory: ``_base_ = 'se_plugin::PATH'``.

mmengine 0.10.7 resolves ``pkg::PATH`` (``Config._get_cfg_path``) only

- for the OpenMMLab packages it lists in ``MODULE2PACKAGE``; any other name
  stops at ``AssertionError: mmengine does not support to load se_plugin
  config``;
- for a PATH inside a folder (regex ``\\w*::\\w*/\\w*``), so
  ``se_plugin::faster_rcnn_se_r50_2x.py`` is refused;
- through ``pkg_resources``, which puts an editable install in
  site-packages, where no ``se_plugin/`` folder is;

and it gives the base's top-level objects ``_scope_='se_plugin'``, so an
mmpretrain ``ImageClassifier`` in our configs would be looked up in
se_plugin's registry and not found. Two routes work:

- ``_base_ = __import__('se_plugin').config_path('faster_rcnn_se_r50_2x.py')``
  in any tool, the hosts' own included: mmengine evaluates ``_base_`` as a
  Python expression, and :func:`config_path` gives the file's path;
- ``_base_ = 'se_plugin::faster_rcnn_se_r50_2x.py'`` once
  :func:`se_plugin.compat.se_plugin_bases` is on (``se_plugin.setup()``;
  our tools and ``mim train se_plugin`` call it).

Both keep the scopes the base names itself (``default_scope`` and
``se_plugin.`` type prefixes).
"""
import difflib
import glob
import os.path as osp

PREFIX = 'se_plugin::'
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))
MIM_DIR = osp.join(PACKAGE_DIR, '.mim')


def package_root() -> str:
    """The folder with se_plugin's ``configs/``, ``tools/`` and
    ``model-index.yml``: the checkout se_plugin runs from (a clone, an
    editable install), else the installed wheel's ``se_plugin/.mim``.

    A checkout wins over a ``.mim`` inside it, which could be stale.
    """
    checkout = osp.dirname(PACKAGE_DIR)
    if all(
            osp.exists(osp.join(checkout, name))
            for name in ('setup.py', 'model-index.yml', 'configs')):
        return checkout
    if osp.isfile(osp.join(MIM_DIR, 'model-index.yml')):
        return MIM_DIR
    raise FileNotFoundError(
        f'se_plugin: no configs/ and model-index.yml in {checkout} (a '
        f'checkout) or {MIM_DIR} (an installed wheel); install se_plugin '
        'from a wheel or sdist built by its setup.py, or from a checkout')


def config_path(name: str) -> str:
    """Absolute path of the se_plugin config ``name``, relative to
    ``configs/`` (e.g. ``'imagenet/seresnet50_8xb32_in1k.py'``).

    A config of any project inherits ours with it, through the hosts' own
    tools too: ``_base_ = __import__('se_plugin').config_path(NAME)``.

    Args:
        name: The config's path relative to se_plugin's ``configs/``.

    Raises:
        FileNotFoundError: naming the folder searched and the closest
            config names.
    """
    root = osp.join(package_root(), 'configs')
    path = osp.normpath(osp.join(root, name))
    if path.startswith(root + osp.sep) and osp.isfile(path):
        return path
    known = sorted(
        osp.relpath(p, root)
        for p in glob.glob(osp.join(root, '**', '*.py'), recursive=True))
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    raise FileNotFoundError(
        f'{PREFIX}{name}: no such config in {root}; closest: '
        f'{", ".join(close) or "none"} ({len(known)} configs there)')
