"""Published SE weights as Detectron2 checkpoints.

Every name :mod:`se_plugin.converters.hub` knows (``timm://...``,
``mmpretrain://...``) works as ``MODEL.WEIGHTS``: :func:`register_schemes`
adds a handler to Detectron2's ``PathManager`` that fetches the publisher's
file (cached and hash-checked, as for mmengine), converts it once and keeps
the Detectron2 checkpoint under ``torch.hub``'s cache. The same file is
what ``tools/model_converters/convert_senet.py --detectron2`` writes.

:class:`SECheckpointer` is Detectron2's ``DetectionCheckpointer`` that
refuses an se_plugin checkpoint whose trunk does not fit the model (a
shape mismatch or a missing tensor, which Detectron2 only logs) or whose
conventions the config does not follow (stride placement, stem pool,
SE widths: what shapes do not show).
"""
import os
import os.path as osp
import re
from typing import Dict, List

import numpy as np
import torch
import torch.hub
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.utils.file_io import PathManager
from iopath.common.file_io import PathHandler

from se_plugin.converters.hub import (SCHEMES, WeightsError,
                                      differing_conventions, fetch,
                                      is_published, load_published)
from .backbone import SEResNetBackbone

AUTHOR = 'se_plugin'
# The Detectron2 config key of each trunk argument, for error messages.
D2_KEYS = {
    'type': 'MODEL.RESNETS.NUM_GROUPS', 'depth': 'MODEL.RESNETS.DEPTH',
    'style': 'MODEL.RESNETS.STRIDE_IN_1X1',
    'caffe_pool': 'MODEL.SE.CAFFE_POOL', 'se_ratio': 'MODEL.SE.RATIO',
    'se_stages': 'MODEL.SE.STAGES', 'se_position': 'MODEL.SE.POSITION',
    'se_cfg': 'MODEL.SE.SQUEEZE/GATE',
    'groups': 'MODEL.RESNETS.NUM_GROUPS',
    'width_per_group': 'MODEL.RESNETS.WIDTH_PER_GROUP',
    'stem_channels': 'MODEL.RESNETS.STEM_OUT_CHANNELS',
    'base_channels': 'MODEL.RESNETS.RES2_OUT_CHANNELS',
}


def detectron2_checkpoint(state_dict: Dict[str, torch.Tensor],
                          backbone: dict, source: str) -> dict:
    """A Detectron2 checkpoint of the ``backbone.*`` tensors of an se_plugin
    classifier state dict.

    The keys are the trunk's under ``trunk.``; Detectron2's matching
    heuristics (suffix match, as for its own ImageNet ``.pkl`` files) place
    them under ``backbone.bottom_up.trunk.`` (FPN) or ``backbone.trunk.``.
    """
    model = {
        'trunk.' + k[len('backbone.'):]: v
        for k, v in state_dict.items()
        if k.startswith('backbone.') and not k.endswith('num_batches_tracked')
    }
    if not model:
        raise WeightsError(f'{source}: no backbone.* tensors to convert')
    return {
        'model': model,
        '__author__': AUTHOR,
        'matching_heuristics': True,
        'se_plugin': dict(backbone=dict(backbone), source=source),
    }


def config_options(backbone: dict) -> List[str]:
    """``[KEY, VALUE, ...]`` a Detectron2 config needs (``merge_from_list``)
    for an se_plugin backbone dict: the inverse of
    :func:`~se_plugin.detectron2.backbone.se_trunk_cfg` on the keys
    published weights differ in."""
    groups = backbone.get('groups', 1)
    opts = {
        'MODEL.RESNETS.DEPTH': backbone['depth'],
        'MODEL.RESNETS.NUM_GROUPS': groups,
        'MODEL.RESNETS.WIDTH_PER_GROUP':
        backbone.get('width_per_group', 4) if groups > 1 else 64,
        'MODEL.RESNETS.STRIDE_IN_1X1': backbone.get('style') == 'caffe',
        'MODEL.SE.RATIO': backbone.get('se_ratio', 16),
        'MODEL.SE.CAFFE_POOL': bool(backbone.get('caffe_pool', False)),
    }
    return [str(x) for kv in opts.items() for x in kv]


def save_atomic(obj, path: str) -> None:
    """``torch.save`` to a temporary file, then rename: a reader (another
    rank) never sees half a file."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    torch.save(obj, tmp)
    os.replace(tmp, path)


def published_checkpoint(name: str) -> str:
    """The local Detectron2 checkpoint of a published name, converted on the
    first call and kept in ``torch.hub``'s cache (``se_plugin_detectron2/``)
    under the name and the source file's hash."""
    pub, path, sha = fetch(name)
    stem = re.sub(r'[^A-Za-z0-9._-]+', '_', pub.name)
    out = osp.join(torch.hub.get_dir(), 'se_plugin_detectron2',
                   f'{stem}-{sha[:12]}.pth')
    if not osp.isfile(out):
        published = load_published(name)
        save_atomic(
            detectron2_checkpoint(published['state_dict'],
                                  published['meta']['model_cfg']['backbone'],
                                  pub.name), out)
    return out


class PublishedWeightsHandler(PathHandler):
    """``timm://NAME`` and ``mmpretrain://NAME`` for Detectron2's
    ``PathManager`` (hence ``MODEL.WEIGHTS``)."""

    def _get_supported_prefixes(self):
        return list(SCHEMES)

    def _get_local_path(self, path: str, **kwargs) -> str:
        return published_checkpoint(path)

    def _isfile(self, path: str, **kwargs) -> bool:
        return osp.isfile(self._get_local_path(path))

    def _open(self, path: str, mode: str = 'r', **kwargs):
        return PathManager.open(self._get_local_path(path), mode, **kwargs)


def register_schemes() -> None:
    """Register :class:`PublishedWeightsHandler` with Detectron2's
    ``PathManager``, once (iopath would replace it with a warning)."""
    if not any(isinstance(h, PublishedWeightsHandler)
               for h in PathManager._path_handlers.values()):
        PathManager.register_handler(PublishedWeightsHandler())


class SECheckpointer(DetectionCheckpointer):
    """Detectron2's ``DetectionCheckpointer``; an se_plugin checkpoint
    (``__author__ == 'se_plugin'``) must fill the model's SE trunk whole,
    with the conventions it was trained with, or loading raises."""

    def _load_model(self, checkpoint: dict):
        ours = checkpoint.get('__author__') == AUTHOR
        if ours:
            self._check_conventions(checkpoint)
        incompatible = super()._load_model(checkpoint)
        if ours:
            # (torch's BatchNorm fills in a missing step counter itself.)
            missing = [k for k in incompatible.missing_keys
                       if '.trunk.' in k or k.startswith('trunk.')]
            bad = missing + [k for k, *_ in incompatible.incorrect_shapes]
            if bad:
                raise WeightsError(
                    f'{checkpoint["se_plugin"]["source"]} does not fit the '
                    f'SE trunk: {len(bad)} tensors missing or of another '
                    f'shape (e.g. {", ".join(bad[:3])}); the config\'s '
                    "MODEL.RESNETS / MODEL.SE are not the weights' "
                    'architecture')
        return incompatible

    def _check_conventions(self, checkpoint: dict) -> None:
        meta = checkpoint['se_plugin']
        trunks = [m for m in self.model.modules()
                  if isinstance(m, SEResNetBackbone)]
        if not trunks:
            raise WeightsError(
                f'{meta["source"]} holds SE trunk weights, but the model has '
                'no SE backbone: set MODEL.BACKBONE.NAME to '
                'build_se_resnet_fpn_backbone (or another se_plugin builder)')
        for trunk in trunks:
            differ = differing_conventions(trunk.trunk_cfg, meta['backbone'])
            if differ:
                keys = sorted({D2_KEYS.get(d.split('=')[0], d.split('=')[0])
                               for d in differ})
                raise WeightsError(
                    f'the config does not follow the conventions of '
                    f'{meta["source"]}: {", ".join(differ)}; set '
                    f'{", ".join(keys)} to match')


# What every published SE checkpoint se_plugin knows was trained on (timm's
# pretrained cfgs and mmpretrain's data preprocessors agree): RGB in 0-255,
# normalised with ImageNet's mean and std.
PUBLISHED_INPUT = dict(FORMAT='RGB', PIXEL_MEAN=(123.675, 116.28, 103.53),
                       PIXEL_STD=(58.395, 57.12, 57.375))


def check_input_conventions(cfg) -> None:
    """Raise if ``MODEL.WEIGHTS`` is a published name and the config feeds
    the trunk other input than the weights were trained on (shapes cannot
    show it: the model trains, worse)."""
    weights = cfg.MODEL.WEIGHTS
    if not is_published(weights):
        return
    have = dict(FORMAT=cfg.INPUT.FORMAT, PIXEL_MEAN=cfg.MODEL.PIXEL_MEAN,
                PIXEL_STD=cfg.MODEL.PIXEL_STD)
    wrong = [key for key in ('PIXEL_MEAN', 'PIXEL_STD')
             if len(have[key]) != 3 or not np.allclose(
                 have[key], PUBLISHED_INPUT[key], atol=1e-3)]
    if have['FORMAT'] != 'RGB':
        wrong.insert(0, 'FORMAT')
    if wrong:
        fix = ' '.join(
            f'{"INPUT" if k == "FORMAT" else "MODEL"}.{k} '
            f'{list(PUBLISHED_INPUT[k]) if k != "FORMAT" else "RGB"}'
            for k in wrong)
        found = ', '.join(f'{k}={have[k]}' for k in wrong)
        raise WeightsError(
            f'{weights} was trained on RGB input normalised with ImageNet '
            f'mean/std; the config has {found}: set {fix}')
