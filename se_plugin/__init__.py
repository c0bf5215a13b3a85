"""se_plugin: Squeeze-and-Excitation networks for OpenMMLab.

``import se_plugin`` registers, and changes nothing else: every module,
dataset, hook and metric under the registry scope ``se_plugin``
(``type='se_plugin.SEResNet'``), and the checkpoint schemes
``timm://legacy_seresnet50.in1k`` and ``mmpretrain://seresnet50_8xb32_in1k``
(:mod:`se_plugin.converters.hub`, through mmengine's public
``CheckpointLoader.register_scheme``), and the file backend
``'se_plugin_atomic'`` for atomic checkpoint writes
(:mod:`se_plugin.utils.atomic_backend`, through ``register_backend``).

Fixes of host defects (resumable weights-only checkpoints on torch >= 2.6,
checkpoint errors that name the file, ``_base_ = 'se_plugin::...'``) are
switched on by :func:`setup` (our tools call it): :mod:`se_plugin.compat`.
From any tool, a config inherits ours with
``_base_ = __import__('se_plugin').config_path('NAME.py')``.
"""
from .apis import get_model
from .compat import setup
from .converters.hub import register_schemes
from .datasets import CocoDataset, ImageNet, Places365
from .engine import RNGStateHook
from .evaluation import ValLoss
from .model_index import ModelInfo, list_models
from .models import (SEVGG, AddSE, DropoutLinearClsHead, SEBNInception,
                     SECifarResNet, SEInceptionResNetV2, SELayer,
                     SEMobileNetV1, SENet154, SEResNet, SEResNeXt,
                     SEShuffleNetV1, SEWideResNet, add_se)
from .utils.atomic_backend import register_atomic_backend
from .utils.mim import config_path
from .version import __version__

# Registration through mmengine's public API; nothing else runs on import.
register_schemes()
register_atomic_backend()

__all__ = [
    'AddSE', 'CocoDataset', 'DropoutLinearClsHead', 'ImageNet', 'ModelInfo',
    'Places365', 'RNGStateHook', 'SEBNInception', 'SECifarResNet',
    'SEInceptionResNetV2', 'SELayer', 'SEMobileNetV1', 'SENet154',
    'SEResNeXt', 'SEResNet', 'SEShuffleNetV1', 'SEVGG', 'SEWideResNet',
    'ValLoss', '__version__', 'add_se', 'config_path', 'get_model',
    'list_models', 'setup'
]
