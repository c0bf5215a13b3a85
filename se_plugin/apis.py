"""One call from a config (or a published name) to a model with weights."""
import os
import os.path as osp
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.config import Config

from .compat import checkpoint_globals
from .converters.hub import check_conventions, is_published, load_published
from .converters.senet import classifier_config


def load_model_config(config: Union[str, Config]) -> Config:
    """A config file, a ``Config``, or a published name's classifier config
    (read off its converted weights)."""
    if isinstance(config, Config):
        return config
    if is_published(config):
        model_cfg = load_published(config)['meta']['model_cfg']
        return classifier_config(model_cfg)
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'config: {config} is neither a config file nor a published '
            'name (timm://..., mmpretrain://...)')
    return Config.fromfile(config)


def is_detector(cfg: Config) -> bool:
    """Whether a config builds an mmdet model (else mmpretrain)."""
    return cfg.get('default_scope') == 'mmdet' or str(
        cfg.model.get('type', '')).startswith('mmdet.')


def with_backbone_weights(cfg: Config, weights: str) -> Config:
    """``cfg`` whose backbone starts from a published classifier's trunk."""
    cfg = cfg.copy()
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=weights, prefix='backbone.')
    return cfg


def get_model(config: Union[str, Config],
              weights: Optional[str] = None,
              device: str = 'cpu') -> nn.Module:
    """Build a classifier or detector in eval mode, with weights loaded.

    Args:
        config: A config file, a ``Config``, or a published name (then the
            classifier is the one its weights describe).
        weights: A checkpoint file or a published name. Default: the
            published name given as ``config``, else none. A published
            name must match the config's backbone conventions; for a
            detector it initialises the backbone only.
        device: Where the model goes.

    Example:
        >>> import se_plugin
        >>> model = se_plugin.get_model('timm://legacy_seresnet50.in1k')
        >>> model(torch.rand(1, 3, 224, 224)).shape
        torch.Size([1, 1000])
    """
    if weights is None and isinstance(config, str) and is_published(config):
        weights = config
    cfg = load_model_config(config)
    if weights is not None and is_published(weights):
        check_conventions(cfg.model.backbone, weights)
    elif weights is not None and not osp.isfile(os.fspath(weights)):
        raise FileNotFoundError(
            f'weights: {weights} is neither a file nor a published name '
            '(timm://..., mmpretrain://...)')
    # A checkpoint of our tools holds mmengine's message hub: allowlisted
    # for these loads only (torch's public API), not for the process.
    with torch.serialization.safe_globals(checkpoint_globals()):
        return _build(cfg, weights, device)


def _build(cfg: Config, weights: Optional[str], device: str) -> nn.Module:
    if is_detector(cfg):
        from mmdet.apis import init_detector
        if weights is not None and is_published(weights):
            # An ImageNet classifier: its trunk starts the detector.
            model = init_detector(
                with_backbone_weights(cfg, weights), None, device=device,
                cfg_options={})
            model.init_weights()
            return model.eval()
        return init_detector(cfg, weights, device=device)
    from mmpretrain.apis import get_model as mmpretrain_model
    return mmpretrain_model(cfg, pretrained=weights or False, device=device)
