"""se_plugin: Squeeze-and-Excitation networks for OpenMMLab.

``import se_plugin`` registers every module under the registry scope
``se_plugin`` (``type='se_plugin.SEResNet'``), lets mmengine load
se_plugin's own training checkpoints with ``weights_only=True``, makes
published weights loadable by name (``timm://legacy_seresnet50.in1k``,
``mmpretrain://seresnet50_8xb32_in1k``: :mod:`se_plugin.converters.hub`),
lets configs inherit ours from any directory (``_base_ =
'se_plugin::...'``: :mod:`se_plugin.utils.mim`) and makes every mmengine
checkpoint load that fails say in one line which file and why
(:mod:`se_plugin.utils.checkpoint_errors`) and registers the file backend
``'se_plugin_atomic'`` for atomic checkpoint writes
(:mod:`se_plugin.utils.atomic_backend`).
"""
from .apis import get_model
from .converters.hub import register_schemes
from .datasets import CocoDataset, ImageNet, Places365
from .engine import RNGStateHook
from .evaluation import ValLoss
from .model_index import ModelInfo, list_models
from .models import (SEVGG, DropoutLinearClsHead, SEBNInception, SECifarResNet,
                     SEInceptionResNetV2, SELayer, SEMobileNetV1, SENet154,
                     SEResNet, SEResNeXt, SEShuffleNetV1, SEWideResNet)
from .utils.atomic_backend import register_atomic_backend
from .utils.checkpoint import allow_mmengine_checkpoints
from .utils.checkpoint_errors import explain_mmengine_checkpoint_errors
from .utils.mim import register_config_scheme
from .version import __version__

allow_mmengine_checkpoints()
explain_mmengine_checkpoint_errors()
register_schemes()
register_config_scheme()
register_atomic_backend()

__all__ = [
    'CocoDataset', 'DropoutLinearClsHead', 'ImageNet', 'ModelInfo',
    'Places365', 'RNGStateHook', 'SEBNInception', 'SECifarResNet',
    'SEInceptionResNetV2', 'SELayer', 'SEMobileNetV1', 'SENet154',
    'SEResNeXt', 'SEResNet', 'SEShuffleNetV1', 'SEVGG', 'SEWideResNet',
    'ValLoss', '__version__', 'get_model', 'list_models'
]
