"""Detectron2 config keys for SE backbones, and config loading.

``MODEL.SE`` holds what Detectron2's ``MODEL.RESNETS`` does not say:

===================  =========================================  ==========
key                  meaning                                    default
===================  =========================================  ==========
``RATIO``            reduction ratio r of every SE layer         16
``STAGES``           which of res2..res5 get SE blocks           all True
``POSITION``         'standard', 'pre', 'post', 'identity',      'standard'
                     '3x3' (Fig. 5, Tables 14-15)
``SQUEEZE``          'avg', 'max', 'none' (Table 11)             'avg'
``GATE``             'sigmoid', 'tanh', 'relu', 'hsigmoid'       'sigmoid'
                     (Table 12)
``CAFFE_POOL``       ceil-mode stem pool of the Caffe release    False
===================  =========================================  ==========

Stride placement is Detectron2's ``MODEL.RESNETS.STRIDE_IN_1X1`` (True: the
paper's released models and MSRA's ResNets).
"""
import os.path as osp
import posixpath
from typing import Sequence

from detectron2 import model_zoo
from detectron2.config import CfgNode as _CfgNode
from detectron2.config import get_cfg

from se_plugin.utils.mim import package_root
from .backbone import ConfigError

# `_BASE_: "model_zoo://Base-RCNN-FPN.yaml"` names a config of Detectron2's
# model zoo (installed with Detectron2), as model_zoo.get_config_file does;
# `_BASE_: "se_plugin://detectron2/faster_rcnn_se_R_50_FPN_2x.yaml"` one of
# se_plugin's configs/ (the checkout's, or the installed wheel's).
ZOO = 'model_zoo://'
OURS = 'se_plugin://'


class CfgNode(_CfgNode):
    """Detectron2's CfgNode whose ``_BASE_`` may also be ``model_zoo://NAME``
    or ``se_plugin://NAME``, from any folder.

    fvcore resolves a relative ``_BASE_`` against the folder of the file
    that names it, and knows no package data, so such a base reaches
    :meth:`_open_cfg` as ``FOLDER/model_zoo://NAME`` (and that config's own
    ``_BASE_: ../Base.yaml`` as ``FOLDER/model_zoo://SUB/../Base.yaml``);
    this opens the named package's file instead.
    """

    @classmethod
    def _open_cfg(cls, filename):
        filename = str(filename)
        # The scheme named last wins: a zoo base of one of ours arrives as
        # FOLDER/se_plugin://SUB/model_zoo://NAME.
        at, scheme = max((filename.rfind(s), s) for s in (ZOO, OURS))
        if at >= 0:
            name = posixpath.normpath(filename[at + len(scheme):])
            if scheme == ZOO:
                try:
                    filename = model_zoo.get_config_file(name)
                except RuntimeError:  # "... not available in Model Zoo!"
                    raise ConfigError(
                        f'_BASE_ {ZOO}{name}: no such config in the '
                        'installed Detectron2\'s model zoo') from None
            else:
                filename = osp.join(package_root(), 'configs', name)
                if not osp.isfile(filename):
                    raise ConfigError(
                        f'_BASE_ {OURS}{name}: no such config in '
                        f'{osp.join(package_root(), "configs")}')
        return super()._open_cfg(filename)


def add_se_config(cfg: _CfgNode) -> _CfgNode:
    """Add ``MODEL.SE`` with its defaults to a Detectron2 config (in place,
    as Detectron2's ``add_*_config`` do); returns ``cfg``."""
    cfg.MODEL.SE = _CfgNode()
    cfg.MODEL.SE.RATIO = 16
    cfg.MODEL.SE.STAGES = [True, True, True, True]
    cfg.MODEL.SE.POSITION = 'standard'
    cfg.MODEL.SE.SQUEEZE = 'avg'
    cfg.MODEL.SE.GATE = 'sigmoid'
    cfg.MODEL.SE.CAFFE_POOL = False
    return cfg


def get_se_cfg(config_file: str = None, opts: Sequence[str] = ()) -> CfgNode:
    """Detectron2's defaults with ``MODEL.SE``, then ``config_file`` (safe
    YAML only: a config never runs code) and ``opts`` (``KEY VALUE ...``)."""
    cfg = CfgNode(add_se_config(get_cfg()))
    if config_file:
        if '://' not in config_file and not osp.isfile(config_file):
            # Detectron2 asserts it (a bare AssertionError).
            raise FileNotFoundError(f'config file {config_file} does not '
                                    'exist')
        cfg.merge_from_file(config_file, allow_unsafe=False)
    opts = list(opts)
    if len(opts) % 2:
        # yacs asserts it (a bare AssertionError).
        raise ConfigError(f'config options must be KEY VALUE pairs, got '
                          f'{len(opts)} words: {opts}')
    cfg.merge_from_list(opts)
    return cfg


def has_compiled_ops() -> bool:
    """Whether this Detectron2 has its C++ ops (the official build from
    source), not the pure-Python install of tools/setup_env.sh."""
    from detectron2 import _C
    return hasattr(_C, 'COCOevalAccumulate')
