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
se_plugin's registry and not found. :func:`register_config_scheme` (run by
``import se_plugin``; this is its one place) wraps ``Config._get_cfg_path``:
a path starting with ``se_plugin::`` resolves to our configs, whose objects
keep their own scopes (``default_scope`` and ``se_plugin.`` type prefixes);
every other path goes to mmengine unchanged. Load such a config after
``import se_plugin``: our tools and ``mim train se_plugin`` do.
"""
import difflib
import glob
import os.path as osp
from typing import Optional, Tuple

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


def register_config_scheme() -> None:
    """Make mmengine's config loader resolve ``se_plugin::PATH`` bases.

    Idempotent. See the module docstring for why mmengine's own ``pkg::``
    route cannot serve se_plugin.
    """
    from mmengine.config import Config

    original = Config.__dict__['_get_cfg_path'].__func__
    if getattr(original, 'se_plugin', False):
        return

    def _get_cfg_path(cfg_path: str,
                      filename: str) -> Tuple[str, Optional[str]]:
        if cfg_path.startswith(PREFIX):
            # Scope None: the base keeps the scopes it names itself.
            return config_path(cfg_path[len(PREFIX):]), None
        return original(cfg_path, filename)

    _get_cfg_path.se_plugin = True
    Config._get_cfg_path = staticmethod(_get_cfg_path)
